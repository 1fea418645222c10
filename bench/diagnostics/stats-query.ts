// GET /stats on 5 million rows (issue 6: p95 under 100 ms). Usage:
//   STATS_BENCH_DB=ls_bench_stats node --import tsx bench/diagnostics/stats-query.ts [--seed]
// --seed creates the database with 5,000,000 rows over 7 days (20 services, every level; ~1.3 min on 2 cores).
// It times queryStats itself (all its SQL, as the gateway runs it) for each window, 30 runs each.
import pg from 'pg';
import { ensureDatabase } from '@logstream/shared/db.js';
import { migrate } from '@logstream/shared/migrate.js';
import { parseStatsQuery, queryStats } from '../../gateway/src/stats-query.js';

const database = process.env.STATS_BENCH_DB ?? 'ls_bench_stats';
const cfg = { DB_HOST: '127.0.0.1', DB_PORT: 5432, POSTGRES_USER: 'postgres', POSTGRES_DB: database, POSTGRES_PASSWORD: undefined, DATABASE_URL: undefined };
const ROWS = 5_000_000;
const RUNS = 30;

await ensureDatabase(cfg);
const pool = new pg.Pool({ host: cfg.DB_HOST, port: cfg.DB_PORT, user: cfg.POSTGRES_USER, database, max: 4 });
if (process.argv.includes('--seed')) {
  await migrate(pool);
  const t0 = Date.now();
  // One row every 121 ms going back from now: 5 M rows span 7 days.
  await pool.query(`INSERT INTO logs (id, stream_id, "timestamp", received_at, level, service, message)
    SELECT g, 'b-'||g, now() - g * interval '121 ms', now() - g * interval '121 ms',
           (ARRAY[10,20,30,30,30,30,40,50,60])[1 + (g::bigint * 7919) % 9], 'svc-' || ((g::bigint * 31) % 20),
           'GET /api/item/' || g || ' 200 ' || (g % 500) || 'ms'
    FROM generate_series(1, ${ROWS}) g`);
  await pool.query(`SELECT setval('logs_id_seq', ${ROWS})`);
  await pool.query('VACUUM ANALYZE logs, logs_per_minute, logs_per_hour');
  console.log(`seeded ${ROWS} rows in ${Date.now() - t0} ms`);
}

const cases = ['window=1m', 'window=15m&bucket=1m', 'window=1h', 'window=6h', 'window=24h', 'window=24h&bucket=5m', 'window=7d', 'window=30d',
  'window=24h&service=svc-3,svc-7&level=warn', 'window=6h&service=svc-3&level=error', 'window=15m&q=item/42'];
console.log('| query | source | rows counted | p50 ms | p95 ms |\n| --- | --- | --- | --- | --- |');
for (const c of cases) {
  const q = parseStatsQuery(new Map(new URLSearchParams(c)));
  const times: number[] = [];
  let last;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    last = await queryStats(pool, q);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const p = (x: number) => times[Math.min(times.length - 1, Math.floor(x * times.length))]!.toFixed(1);
  console.log(`| ${c} | ${last!.source} | ${last!.total} | ${p(0.5)} | ${p(0.95)} |`);
}
await pool.end();
