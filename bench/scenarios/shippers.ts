// shippers: ingest through each shipper protocol (issue 14) in 1,000-event requests — Loki push (snappy protobuf
// and JSON), OTLP/HTTP (protobuf and JSON), Elasticsearch _bulk — and a syslog TCP stream (RFC 5424, octet-counted),
// against POST /send NDJSON measured in the same repetition, on one stack with 2 processors. Target (issue 14):
// stored events/s ≥ 0.8× /send's. The protocols differ only in the producer's decoder, so its CPU per 1,000 events
// against /send's is the decoder's cost; the other processes' CPU is reported per protocol too.
// /send runs first and last in each repetition and its baseline is the mean of the two, so that a machine that gets
// busier during the repetition weighs on the protocols in the middle as much as on the baseline.
import type { Scenario } from '../lib/context.js';
import { ingestRun, servedLoad, type IngestFigures, type IngestLoad } from '../lib/ingest-run.js';
import type { HttpProtocol } from '../lib/protocol-bodies.js';
import { fmt, ratioRow, round, type Row } from '../lib/results.js';
import { startStack } from '../lib/stack.js';
import { MIN_REPETITIONS, median, repeat } from '../lib/stats.js';
import { freePort } from '../../test/helpers/free-port.js';

/**
 * Events per run (8 runs × 3 repetitions): ~1-1.5 s each at the 40,000-68,000 events/s /send stores on a quiet
 * 2-core machine. At 15,000 the runs were 0.4-0.75 s, the 50 ms polling for stored rows was several percent of each,
 * and one path's ratio to /send moved 0.74 → 0.91 between two quiet runs back to back (syslog TCP, 15:32 and 15:40
 * UTC); at 30,000 they were 0.45-0.8 s on a faster machine, and the producer CPU ratios of Loki JSON and _bulk moved
 * 1.23 → 1.30 and 1.57 → 1.68, beyond their spreads, between two quiet runs (17:44 and 17:50 UTC).
 */
export const shipperEvents = (quick: boolean) => (quick ? 4_000 : 60_000);

interface Path {
  key: string;
  label: string;
  /** An HTTP protocol, sent by load/ingest.ts; else the syslog TCP stream of load/syslog-tcp.ts. */
  protocol?: HttpProtocol;
}

export const BASELINE: Path = { key: 'send-ndjson', label: 'POST /send NDJSON', protocol: 'send-ndjson' };
export const PATHS: readonly Path[] = [
  { key: 'loki-protobuf', label: 'Loki push, snappy protobuf', protocol: 'loki-protobuf' },
  { key: 'loki-json', label: 'Loki push, JSON', protocol: 'loki-json' },
  { key: 'otlp-protobuf', label: 'OTLP/HTTP, protobuf', protocol: 'otlp-protobuf' },
  { key: 'otlp-json', label: 'OTLP/HTTP, JSON', protocol: 'otlp-json' },
  { key: 'elastic-bulk', label: 'Elasticsearch _bulk', protocol: 'elastic-bulk' },
  { key: 'syslog-tcp', label: 'syslog TCP stream (RFC 5424, octet-counted)' },
];

/** Figures by path key, the baseline's second run under BASELINE_AFTER. */
type Repetition = Record<string, IngestFigures>;
const BASELINE_AFTER = 'send-ndjson-after';

/** The process groups reported per path, with PostgreSQL's backends and shared processes summed. */
const CPU_GROUPS: readonly [string, (c: Record<string, number>) => number][] = [
  ['producer', (c) => c.producer ?? 0],
  ['processors', (c) => c.processors ?? 0],
  ['PostgreSQL', (c) => (c['postgres backends'] ?? 0) + (c['postgres shared'] ?? 0)],
  ['Redis', (c) => c.redis ?? 0],
  ['all', (c) => (c.total ?? 0) - (c['load generator'] ?? 0)],
];

export const shippers: Scenario = async (ctx) => {
  const events = shipperEvents(ctx.quick);
  const syslogPort = await freePort();
  const stack = await startStack('shippers', { producer: true, processors: 2, profileDir: ctx.profileDir, env: { SYSLOG_PORT: String(syslogPort) } });
  // Two generators kept up for all the runs: HTTP with 4 requests in flight, syslog on one connection (as
  // rsyslog's omfwd forwards).
  const httpLoad = servedLoad(ctx, 'load/ingest.ts', { url: stack.producer!.url });
  const syslogLoad = servedLoad(ctx, 'load/syslog-tcp.ts', { host: '127.0.0.1', port: syslogPort, concurrency: 1 });
  const loadOf = (p: Path): IngestLoad => (p.protocol ? httpLoad.load({ protocol: p.protocol }) : syslogLoad.load());
  const run = (p: Path, n: number, c = ctx) => ingestRun(c, stack, n, loadOf(p));
  let reps: Repetition[];
  try {
    // Unmeasured runs first (JIT, pools, prepared statements), each decoder too.
    ctx.log('  warming up');
    for (const p of [BASELINE, ...PATHS]) await run(p, ctx.quick ? 1000 : 3000, { ...ctx, log: () => {} });
    reps = await repeat(MIN_REPETITIONS, async (i) => {
      const rep: Repetition = {};
      rep[BASELINE.key] = await run(BASELINE, events);
      // The order rotates between repetitions, so that no protocol always runs right after the baseline.
      const order = PATHS.map((_, j) => PATHS[(j + i) % PATHS.length]!);
      for (const p of order) rep[p.key] = await run(p, events);
      rep[BASELINE_AFTER] = await run(BASELINE, events);
      const base = (rep[BASELINE.key]!.storedPerSec + rep[BASELINE_AFTER]!.storedPerSec) / 2;
      ctx.log(
        `  run ${i + 1}: /send ${Math.round(base).toLocaleString('en')}/s; ` +
          PATHS.map((p) => `${p.key} ${round(rep[p.key]!.storedPerSec / base, 2)}×`).join(', '),
      );
      return rep;
    });
  } finally {
    httpLoad.stop();
    syslogLoad.stop();
    await stack.stop();
  }
  const baselineOf = (r: Repetition, f: (x: IngestFigures) => number) => (f(r[BASELINE.key]!) + f(r[BASELINE_AFTER]!)) / 2;
  const col = (f: (r: Repetition) => number) => reps.map(f);
  const sendStored = { name: 'POST /send NDJSON: events/s stored (mean of the runs before and after)', unit: '/s', values: col((r) => baselineOf(r, (x) => x.storedPerSec)) };
  const sendProducerCpu = { name: 'POST /send NDJSON: producer CPU s per 1,000 events', unit: 's', values: col((r) => baselineOf(r, (x) => x.cpuPer1k.producer ?? 0)) };
  const ratios = PATHS.flatMap((p) => [
    ratioRow({
      key: `${p.key}-vs-send`,
      metric: `events/s stored via ${p.label} ÷ POST /send NDJSON`,
      better: 'higher',
      target: { op: '≥', value: 0.8 },
      figure: { name: `${p.label}: events/s stored`, unit: '/s', values: col((r) => r[p.key]!.storedPerSec) },
      baseline: sendStored,
    }),
    ratioRow({
      key: `${p.key}-producer-cpu-vs-send`,
      metric: `producer CPU per event via ${p.label} ÷ POST /send NDJSON (the decoder's cost)`,
      better: 'lower',
      figure: { name: `${p.label}: producer CPU s per 1,000 events`, unit: 's', values: col((r) => r[p.key]!.cpuPer1k.producer ?? 0) },
      baseline: sendProducerCpu,
    }),
  ]);
  // One row per path: the median CPU s per 1,000 events of each process group (the load generator left out).
  const rows: Row[] = [BASELINE, ...PATHS].map((p) => {
    const figures = (r: Repetition) => (p === BASELINE ? [r[BASELINE.key]!, r[BASELINE_AFTER]!] : [r[p.key]!]);
    const all = reps.flatMap(figures);
    const value = CPU_GROUPS.map(([, f]) => fmt(median(all.map((x) => f(x.cpuPer1k))))).join(' / ');
    return { metric: `CPU s per 1,000 events via ${p.label}: ${CPU_GROUPS.map(([g]) => g).join(' / ')}`, value, unit: '', pass: null };
  });
  const lost = reps.flatMap((r) => Object.entries(r).map(([k, x]) => ({ k, d: x.events - x.counted })));
  const bad = lost.filter((l) => l.d !== 0);
  rows.push({
    metric: 'events accepted but not stored, or stored twice (every path)',
    value: bad.reduce((a, b) => a + Math.abs(b.d), 0),
    unit: '',
    target: '0',
    pass: bad.length === 0,
    note: bad.length ? bad.map((b) => `${b.k} ${b.d}`).join(', ') : undefined,
  });
  const errors = reps.flatMap((r) => Object.values(r)).reduce((a, x) => a + x.errors, 0);
  rows.push({ metric: 'failed requests (every path)', value: errors, unit: '', target: '0', pass: errors === 0 });
  return { repetitions: reps.length, ratios, rows, figures: { events, repetitions: reps } };
};
