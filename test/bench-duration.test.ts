// The bench's planned duration (issue 15: the full bench within 10 minutes on 2 cores): each scenario states what
// it takes on a quiet 2-core machine, the orchestrator prints their sum at the start, and the sum stays in budget.
import { describe, expect, it } from 'vitest';
import { expectedSeconds, LOKI_SEED_SECONDS, SCENARIOS } from '../bench/scenarios/index.js';

describe('bench duration', () => {
  // The quiet seconds are the longer of two full runs back to back (17:56 and 18:03 UTC, 2026-12-01: 427 and 430 s
  // with the 5 M-row tables kept). Seeding those tables is once per machine and reported on its own.
  it('plans the full bench within 10 minutes with the kept tables, and reports the loki seed on its own', () => {
    const full = expectedSeconds(SCENARIOS, false);
    expect(full.seed).toBe(LOKI_SEED_SECONDS);
    expect(full.seconds).toBeLessThanOrEqual(600);
    expect(expectedSeconds(SCENARIOS, true).seconds).toBeLessThan(full.seconds);
  });

  it('counts only the scenarios selected, and the seed only with loki', () => {
    const ingest = SCENARIOS.filter((s) => s.name === 'ingest');
    expect(expectedSeconds(ingest, false)).toEqual({ seconds: ingest[0]!.quietSeconds.full, seed: 0 });
    for (const s of SCENARIOS) expect(s.quietSeconds.full).toBeGreaterThan(0);
  });
});
