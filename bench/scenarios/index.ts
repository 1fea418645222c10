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
}

export const SCENARIOS: readonly ScenarioEntry[] = [
  { name: 'ingest', run: ingest, about: 'stored events/s and CPU per event vs PostgreSQL inserting the same rows' },
  { name: 'shippers', run: shippers, about: 'stored events/s and CPU per event through Loki push, OTLP, _bulk and a syslog TCP stream vs POST /send NDJSON' },
  { name: 'latency', run: latency, about: 'send→receive vs the bare hops (XADD→XREADGROUP, INSERT…NOTIFY→LISTEN, uWS send→receive)' },
  { name: 'fanout', run: fanout, about: '10,000 /live subscribers vs a bare uWS pub/sub server sending the same frames', needsFds: 12_000 },
  { name: 'scale', run: scale, about: 'stored events/s with 1, 2 and 4 processors vs 1 processor and the PostgreSQL ceiling' },
  { name: 'stats', run: stats, about: '/logs?q= and /stats vs the single SQL statement run by psql' },
  { name: 'loki', run: loki, about: 'Loki query_range, log volume, labels on 5 M rows vs the single SQL statement by psql; tail vs /live latency' },
  { name: 'soak', run: soak, about: 'half the ingest rate for a minute: memory and stream lag stay flat' },
];

export const scenarioNames = () => SCENARIOS.map((s) => s.name);
