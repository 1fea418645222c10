// node --import tsx bench/diagnostics/packed-pages.ts [rows per partition] [--keep]
// The gateway's reads without a text search (queryLogs, logById, logByEventId, the live replay) on a scratch
// database of three closed partitions and a hot one, before and after two of the closed partitions are packed and
// swapped in (logs_pack_build + logs_pack_swap), through the real functions: medians of 15 interleaved runs, and
// whether each answer is the same. Partitions of 10 s; rows inserted by SQL (150,000 a partition by default).
import { randomUUID } from 'node:crypto';
import { parseLogsQuery, queryLogs } from '../../gateway/src/logs-query.js';
import { logByEventId, logById } from '../../gateway/src/sql/logs-page.js';
import { matchingRows } from '../../gateway/src/live/queries.js';
import { EMPTY_FILTER } from '@logstream/shared/protocol.js';
import { createTestEnv, sleep } from '../../test/helpers/test-env.js';

const PER = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 150_000);
const INTERVAL_S = 10;
const t = await createTestEnv(`diag_packed_pages_${randomUUID().slice(0, 4)}`, { partitions: false });
try {
  await t.pool.query(`UPDATE logs_storage_settings SET partition_interval = make_interval(secs => ${INTERVAL_S})`);
  await t.pool.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  const nextPartition = () => sleep(INTERVAL_S * 1000 - (Date.now() % (INTERVAL_S * 1000)) + 200);
  const parts: string[] = [];
  for (let p = 0; p < 4; p++) {
    await nextPartition();
    await t.pool.query('SELECT logs_create_partitions()');
    await t.pool.query(`SELECT setval('logs_id_seq', logs_id_floor(clock_timestamp()))`);
    const n = p < 3 ? PER : 2_000;
    await t.pool.query(
      `INSERT INTO logs (id, stream_id, event_id, "timestamp", received_at, level, service, message, attributes)
       SELECT nextval('logs_id_seq'), '0-' || g, gen_random_uuid(), now() - interval '1 hour' + g * interval '1 ms', now(), (ARRAY[10,20,30,30,30,40,50])[1 + g % 7],
              (ARRAY['api','web','auth','db'])[1 + g % 4], 'request ' || g || ' ' || md5(g::text) || ' done in ' || (g % 997) || ' ms',
              jsonb_build_object('host', 'h' || (g % 20), 'status', 200 + (g % 5))
       FROM generate_series(${p * PER + 1}, ${p * PER + n}) g`,
    );
    const { rows } = await t.pool.query<{ p: string }>('SELECT tableoid::regclass::text AS p FROM logs ORDER BY id DESC LIMIT 1');
    if (p < 3) parts.push(rows[0]!.p);
    console.log(`partition ${rows[0]!.p}: ${n} rows`);
  }
  await nextPartition();
  await t.pool.query('SELECT logs_close_partitions()');
  await t.pool.query('ANALYZE logs');

  const mid = (await t.pool.query(`SELECT id, event_id, "timestamp" FROM ${parts[1]} ORDER BY id OFFSET ${PER / 2} LIMIT 1`)).rows[0];
  const t0 = new Date(mid.timestamp.getTime()).toISOString();
  const t1 = new Date(mid.timestamp.getTime() + 60_000).toISOString();
  const page = (qs: string) => () => queryLogs(t.pool, parseLogsQuery(new Map(new URLSearchParams(qs))));
  const cases: [string, () => Promise<unknown>][] = [
    ['newest page (50)', page('')],
    ['newest page, service=db', page('service=db')],
    ['newest page, level=error', page('level=error')],
    ['page before an id in a packed partition', page(`before=${mid.id}`)],
    ['page before it, service=web&level=warn', page(`before=${mid.id}&service=web&level=warn`)],
    ['a minute by time in a packed partition', page(`since=${t0}&until=${t1}&limit=1000`)],
    ['after=0, 1000 rows', page('after=0&limit=1000')],
    ['attr.host=h3, newest', page('attr.host=h3')],
    ['GET /logs/<id> (packed)', () => logById(t.pool, Number(mid.id))],
    ['GET /logs/<event id> (packed)', () => logByEventId(t.pool, mid.event_id)],
    ['live replay slice (1000 rows)', () => matchingRows(t.pool, EMPTY_FILTER, Number(mid.id) - 1, Number.MAX_SAFE_INTEGER)],
  ];
  const measure = async () => {
    const ms = cases.map(() => [] as number[]);
    const answers: string[] = [];
    for (let run = 0; run < 15; run++) {
      for (const [i, [, fn]] of cases.entries()) {
        const s = performance.now();
        const out = await fn();
        ms[i]!.push(performance.now() - s);
        if (run === 0) answers.push(JSON.stringify(out));
      }
    }
    return { med: ms.map((m) => m.sort((a, b) => a - b)[7]!), answers };
  };
  const before = await measure();
  const s = performance.now();
  for (const p of parts.slice(0, 2)) {
    await t.pool.query('SELECT logs_pack_build($1)', [p]);
    await t.pool.query('SELECT logs_pack_swap($1)', [p]);
  }
  await t.pool.query('ANALYZE logs_packed');
  console.log(`packed and swapped 2 × ${PER} rows in ${((performance.now() - s) / 1000).toFixed(1)} s`);
  const after = await measure();
  console.log('read                                            rows ms   packed ms   same answer');
  for (const [i, [name]] of cases.entries()) {
    console.log(`${name.padEnd(48)}${before.med[i]!.toFixed(2).padStart(7)}   ${after.med[i]!.toFixed(2).padStart(9)}   ${before.answers[i] === after.answers[i]}`);
  }
} finally {
  // --keep: leave the database for EXPLAIN by hand.
  if (process.argv.includes('--keep')) {
    console.log(`kept ${t.database}`);
    await t.pool.end();
    t.redis.disconnect();
  }
  else await t.cleanup();
}
