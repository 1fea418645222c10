// stats: /stats and /logs?q= (and /logs?service=) on 5 million rows generated server-side into the bench
// database's logs table, timestamps spread over the last hour. Target: p95 ≤ 100 ms.
// /stats is optional here: it is timed when it answers 200 and reported "not available" otherwise.
import type { Scenario } from '../lib/context.js';
import { startLoad } from '../lib/load.js';
import { ABSENT_WORD, benchRowsSelect, COMMON_WORD, LOGS_COLUMNS, RARE_WORD } from '../lib/payload.js';
import { round, type Row } from '../lib/results.js';
import { profileEnv, startStack } from '../lib/stack.js';
import { enableSearchIndex } from '../../shared/src/search-index.js';

type QueryResult = {
  path: string;
  status: number;
  error?: string;
  items?: number;
  nextBefore?: number | null;
  followed?: { requests: number; ms: number; items: number };
  countedShare?: number;
  n?: number;
  p50?: number;
  p95?: number;
  max?: number;
};

export const stats: Scenario = async (ctx) => {
  // BENCH_STATS_ROWS overrides the row count (for sizing runs).
  const total = Number(process.env.BENCH_STATS_ROWS ?? (ctx.quick ? 100_000 : 5_000_000));
  const stack = await startStack('stats', {});
  try {
    const db = stack.t.pool;
    const client = await db.connect();
    const start = performance.now();
    try {
      // Build the secondary indexes once at the end instead of row by row: the same indexes (definitions read
      // from the catalog, so whatever the migrations define), built in a fraction of the time.
      const { rows: indexes } = await client.query<{ name: string; def: string }>(
        `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'logs'
           AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'logs'::regclass)`,
      );
      for (const ix of indexes) await client.query(`DROP INDEX ${JSON.stringify(ix.name)}`);
      const chunk = 500_000;
      for (let from = 1; from <= total; from += chunk) {
        const to = Math.min(total, from + chunk - 1);
        // Oldest first over the last hour, ids in the same order, as the pipeline would have stored them.
        const ts = `now() - interval '1 hour' * (1 - i::float8 / ${total})`;
        await client.query(`INSERT INTO logs ${LOGS_COLUMNS} ${benchRowsSelect(`nextval('logs_id_seq')`, ts, from, to)}`);
        ctx.log(`  generated ${to.toLocaleString('en')} / ${total.toLocaleString('en')} rows (${round((performance.now() - start) / 1000)} s)`);
      }
      await client.query(`SET maintenance_work_mem = '256MB'`);
      for (const ix of indexes) await client.query(ix.def);
      ctx.log(`  rebuilt ${indexes.length} indexes (${round((performance.now() - start) / 1000)} s)`);
      await client.query('VACUUM ANALYZE logs');
    } finally {
      client.release();
    }
    const generateSeconds = (performance.now() - start) / 1000;
    const { rows: sizeRows } = await db.query<{ size: string }>(`SELECT pg_size_pretty(pg_total_relation_size('logs')) AS size`);

    // The gateway starts on the filled table, as after a restart.
    const { startService } = await import('../../test/helpers/services.js');
    const gateway = await startService('gateway', { ...stack.t.env, ...(ctx.profileDir ? profileEnv(ctx.profileDir) : {}) });
    const n = ctx.quick ? 10 : 40;
    const budgetMs = ctx.quick ? 3000 : 6000;
    const queries = [
      { name: '/stats?window=15m', path: '/stats?window=15m&bucket=1m', count: n, budgetMs },
      { name: '/stats?window=1h', path: '/stats?window=1h&bucket=1m', count: n, budgetMs },
      // With q the rollups cannot answer: every row of the window is read (the page asks for this when q is set).
      { name: `/stats?window=15m&q=${COMMON_WORD}`, path: `/stats?window=15m&q=${COMMON_WORD}`, count: n, budgetMs },
      { name: `/logs?q=${COMMON_WORD} (1% of rows)`, path: `/logs?q=${COMMON_WORD}`, count: n, budgetMs },
      // Without the search index these two stop on the gateway's search budget (SEARCH_BUDGET_MS) with a cursor;
      // `follow` also pages them to the end of the table, as the page does.
      { name: `/logs?q=${RARE_WORD} (0.01% of rows)`, path: `/logs?q=${RARE_WORD}`, count: n, budgetMs, follow: true },
      { name: `/logs?q=${ABSENT_WORD} (no match)`, path: `/logs?q=${ABSENT_WORD}`, count: n, budgetMs, follow: true },
      { name: '/logs?service=billing', path: '/logs?service=billing', count: n, budgetMs },
      { name: '/logs?service=billing&level=error', path: '/logs?service=billing&level=error', count: n, budgetMs },
      { name: '/logs?level=warn&q=timeout', path: '/logs?level=warn&q=timeout', count: n, budgetMs },
    ];
    let out: Record<string, QueryResult>;
    let withIndex: Record<string, QueryResult> = {};
    let indexSeconds = 0;
    try {
      out = await startLoad<Record<string, QueryResult>>('load-http.ts', { gatewayUrl: gateway.url, queries }, (t) => ctx.log(`  ${t}`)).result;
      // The same text searches with the optional trigram index (npm run search-index -- on), built here.
      ctx.log('  building the optional search index (trigram GIN)…');
      const indexStart = performance.now();
      await enableSearchIndex(db);
      indexSeconds = (performance.now() - indexStart) / 1000;
      ctx.log(`  search index built in ${round(indexSeconds)} s`);
      const textQueries = queries.filter((q) => q.path.includes('q=')).map((q) => ({ ...q, name: `${q.name} with search index` }));
      withIndex = await startLoad<Record<string, QueryResult>>('load-http.ts', { gatewayUrl: gateway.url, queries: textQueries }, (t) => ctx.log(`  ${t}`)).result;
    } finally {
      await gateway.stop();
    }
    out = { ...out, ...withIndex };
    const rows: Row[] = [{ metric: 'rows in logs (generated server-side)', value: `${total.toLocaleString('en')} (${sizeRows[0]!.size}, ${round(generateSeconds)} s)`, unit: '', pass: null }];
    for (const [name, r] of Object.entries(out)) {
      if (name === 'cpuSec') continue;
      if (r.status !== 200) {
        rows.push({ metric: `${name} p95`, value: `not available (${r.status || r.error})`, unit: '', target: '≤ 100 ms', pass: null });
        continue;
      }
      // A page cut short by the search budget says so: how many rows it held and that a cursor continues it.
      const short = r.nextBefore != null && r.items !== undefined && r.items < 50;
      const page = short
        ? `, first page ${r.items} of 50 rows + next_before`
        : r.countedShare !== undefined && r.countedShare < 1
          ? `, counted the newest ${Math.round(r.countedShare * 100)}% of the window`
          : '';
      rows.push({ metric: `${name} p95 (n=${r.n}${page})`, value: r.p95 ?? null, unit: 'ms', target: '≤ 100 ms', pass: r.p95 !== undefined && r.p95 <= 100 });
      if (r.followed) {
        const f = r.followed;
        rows.push({ metric: `${name}: every match, paging by next_before to the end`, value: `${f.items} rows, ${f.requests} requests, ${round(f.ms / 1000, 2)} s`, unit: '', pass: null });
      }
    }
    rows.push({ metric: 'optional search index build (npm run search-index -- on)', value: round(indexSeconds), unit: 's', pass: null });
    return { repetitions: 1, ratios: [], figures: { rows: total, tableSize: sizeRows[0]!.size, generateSeconds: round(generateSeconds), searchIndexSeconds: round(indexSeconds), queries: out }, rows };
  } finally {
    await stack.stop();
  }
};
