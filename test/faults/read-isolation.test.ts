// The long version of gateway/test/read-isolation.test.ts (issue 11 point 4): 50 greedy readers for 30 s on a table
// of 500,000 ~1 KB rows, while /live keeps its p99 delay within 1 s and plain /logs answers 200.
import { describe, expect, it } from 'vitest';
import { percentile, runIsolation } from '../helpers/read-isolation.js';

describe('50 greedy readers for 30 s', () => {
  it('leave live delivery on time (p99 ≤ 1 s) and plain /logs answering 200', async () => {
    const r = await runIsolation({ rows: 500_000, readers: 50, durationMs: 30_000 });
    const p99 = percentile(r.liveDelays, 99);
    const summary = JSON.stringify({ probes: r.probes, received: r.liveDelays.length, p50: percentile(r.liveDelays, 50), p99, plain: r.plainStatuses.length, readers: Object.fromEntries(r.readerStatuses) });
    console.info(`read isolation (long): ${summary}`);
    expect(r.liveDelays.length, summary).toBe(r.probes);
    expect(p99, summary).toBeLessThanOrEqual(1_000);
    expect(r.plainStatuses.every((s) => s === 200), summary).toBe(true);
    for (const status of r.readerStatuses.keys()) expect([101, 200, 503], summary).toContain(status);
  }, 400_000);
});
