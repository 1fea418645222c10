// node --import tsx bench/diagnostics/loki-plans.ts [database] [--analyze]
// The statements the gateway runs for the loki scenario's log and metric queries (to-sql.ts, as the scenario asks
// them), with their plans: EXPLAIN, or EXPLAIN (ANALYZE, BUFFERS) with --analyze, on the kept table of `npm run
// bench -- loki` (logstream_bench_loki, whose closed partition the scenario packs). To see which batches a read
// over packed partitions unnests (packed-where.ts) and what each part costs.
import pg from 'pg';
import { PG_HOST, PG_PORT, PG_USER } from '../../test/helpers/test-env.js';
import type { LogQuery, MetricExpr } from '../../gateway/src/logql/ast.js';
import { parseLogQL } from '../../gateway/src/logql/parse.js';
import { binnedSql, logSelectSql } from '../../gateway/src/logql/to-sql.js';

const args = process.argv.slice(2);
const analyze = args.includes('--analyze');
const database = args.find((a) => !a.startsWith('-')) ?? 'logstream_bench_loki';
const c = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database });
await c.connect();
const { rows: seed } = await c.query<{ end_ms: string }>('SELECT end_ms::text FROM bench_loki_seed');
const { rows: packed } = await c.query<{ from_ms: string | null }>(`SELECT (extract(epoch FROM min(ts_min)) * 1000)::bigint::text AS from_ms FROM logs_partitions WHERE packed`);
const HOUR = 3_600_000n;
const endMs = BigInt(seed[0]!.end_ms);
const firstHour = packed[0]!.from_ms === null ? endMs - 24n * HOUR : ((BigInt(packed[0]!.from_ms) + 59_999n) / 60_000n) * 60_000n;
const ns = (ms: bigint) => ms * 1_000_000n;

const cases: [string, { text: string; values: unknown[] }][] = [];
const log = (src: string, fromMs: bigint, toMs: bigint, direction: 'forward' | 'backward', limit = 1000) =>
  cases.push([`${src} ${direction} ${limit}, ${(toMs - fromMs) / HOUR} h`, logSelectSql(parseLogQL(src) as LogQuery, { start: ns(fromMs), end: ns(toMs), limit, direction })]);
log('{service="billing"} |= "timeout"', endMs - 24n * HOUR, endMs, 'backward');
log('{service="billing"} |= "timeout"', endMs - 24n * HOUR, endMs, 'forward');
log('{service="billing"} |= "timeout"', firstHour, firstHour + HOUR, 'backward');
// A level selector (its partial index is in id order) and a rare word over the packed hours.
log('{level="error"}', endMs - 24n * HOUR, endMs, 'forward');
log('{service=~".+"} |= "no such words"', firstHour, firstHour + 4n * HOUR, 'backward');
const metric = parseLogQL('count_over_time({service="billing"} |= "timeout" [1m])') as Extract<MetricExpr, { kind: 'range' }>;
cases.push([
  'sum by (level) (count_over_time({service="billing"} |= "timeout" [1m])), the first hour',
  binnedSql(metric.query, { lowMs: Number(firstHour) - 60_000, binMs: 60_000, bins: 61, groupBy: ['level'] }),
]);

for (const [name, q] of cases) {
  const { rows } = await c.query(`EXPLAIN ${analyze ? '(ANALYZE, BUFFERS) ' : ''}${q.text}`, q.values);
  console.log(`\n=== ${name}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}`);
}
await c.end();
