// The scenario registry: `npm run bench` runs them in this order, `npm run bench -- <name>` one of them, and
// latest.json keeps them in this order. A new scenario is a module exporting a Scenario (bench/lib/context.ts)
// that repeats its measured part MIN_REPETITIONS times and returns ratios to a baseline it measures itself;
// add one line here.
import type { Scenario } from '../lib/context.js';
import { fanout } from './fanout.js';
import { ingest } from './ingest.js';
import { latency } from './latency.js';
import { loki } from './loki.js';
import { scale } from './scale.js';
import { shippers } from './shippers.js';
import { soak } from './soak.js';
import { stats } from './stats.js';

export interface ScenarioEntry {
  name: string;
  run: Scenario;
  /** One line for the usage text: what it measures against what. */
  about: string;
  /** Opens ~10,000 sockets: the orchestrator raises `ulimit -n` first. */
  needsFds?: number;
  /**
   * Seconds it takes on a quiet 2-core machine (full, --quick), for the expected duration printed at the start.
   * Full: the longer of the two quiet full runs of 1 December 2026, 17:56 and 18:03 UTC (427 s and 430 s in all,
   * load average 1.4-3.1), after shippers went to 60,000 events a run, latency to 10 s a server and 4 s of hops,
   * fanout to 12 s a run. That machine was faster than the one of the 15:32/15:40 runs (a single-core loop 663-690 M
   * iterations/s): stats 52-55 s and loki 31-33 s there against 161 and 113 s.
   * fanout: 96 s with three repetitions, now five (fanout.ts); stats and loki now also read packed partitions
   * (issue 15 point 6) with psql baselines over rows and batches. Estimates for that machine from the quiet runs of
   * 20:44 and 20:58 UTC on a slower one (single-core loop 522 M/s, 725 s and 770 s in all), where the CPU-bound
   * scenarios took 2.1-2.4× their figures on the faster one: fanout 164 s (time-bound), stats 141 s and loki 111 s
   * (÷ 2.3).
   * quick: estimates from the sizes (no quiet --quick run measured yet).
   */
  quietSeconds: { full: number; quick: number };
}

export const SCENARIOS: readonly ScenarioEntry[] = [
  { name: 'ingest', run: ingest, about: 'stored events/s and CPU per event vs PostgreSQL inserting the same rows', quietSeconds: { full: 19, quick: 15 } },
  { name: 'shippers', run: shippers, about: 'stored events/s and CPU per event through Loki push, OTLP, _bulk and a syslog TCP stream vs POST /send NDJSON', quietSeconds: { full: 35, quick: 12 } },
  { name: 'latency', run: latency, about: 'send→receive vs the bare hops (XADD→XREADGROUP, INSERT…NOTIFY→LISTEN, uWS send→receive)', quietSeconds: { full: 118, quick: 25 } },
  { name: 'fanout', run: fanout, about: '10,000 /live subscribers vs a bare uWS pub/sub server sending the same frames', needsFds: 12_000, quietSeconds: { full: 160, quick: 40 } },
  { name: 'scale', run: scale, about: 'stored events/s with 1, 2 and 4 processors vs 1 processor and the PostgreSQL ceiling', quietSeconds: { full: 18, quick: 15 } },
  { name: 'stats', run: stats, about: '/logs?q= and /stats vs the single SQL statement run by psql', quietSeconds: { full: 61, quick: 25 } },
  { name: 'loki', run: loki, about: 'Loki query_range, log volume, labels on 5 M rows vs the single SQL statement by psql; tail vs /live latency', quietSeconds: { full: 48, quick: 20 } },
  { name: 'soak', run: soak, about: 'a third of the ingest rate for a minute: memory and stream lag stay flat', quietSeconds: { full: 60, quick: 15 } },
];

export const scenarioNames = () => SCENARIOS.map((s) => s.name);

/**
 * The loki scenario's first run seeds its kept 5 M-row table (bench/lib/loki-table.ts): 80 s quiet, 133 s at load 5.
 * (The stats scenario's kept 5 M-row search table and both tables' background index builds come on top, once per
 * machine: minutes, not measured quiet. The 10-minute bound is for the runs after, with the tables kept.)
 */
export const LOKI_SEED_SECONDS = 90;

/** The single-core loop (bench/lib/machine.ts) of the machine quietSeconds come from (663-690 M iterations/s). */
export const REFERENCE_LOOP_MOPS = 676;

/** Seconds the selected scenarios take on a quiet machine, and the worst case with the loki table to seed. */
export function expectedSeconds(selected: readonly ScenarioEntry[], quick: boolean): { seconds: number; seed: number } {
  const seconds = selected.reduce((t, s) => t + s.quietSeconds[quick ? 'quick' : 'full'], 0);
  return { seconds, seed: selected.some((s) => s.name === 'loki') && !process.env.BENCH_LOKI_ROWS ? LOKI_SEED_SECONDS : 0 };
}
