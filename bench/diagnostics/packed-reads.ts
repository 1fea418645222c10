// node --import tsx bench/diagnostics/packed-reads.ts [database] [closed partition] [--drop]
// The read shapes of the gateway on a closed partition as stored (rows) and on its packed copy (migration 018,
// logs_pack_build: 100 rows a batch; a copy beside the partition, not swapped in), the same statements interleaved, 7 runs
// each, medians, and whether both return the same rows. By default the stats scenario's kept 5 M-row table
// (logstream_bench_search, seeded by `npm run bench -- stats`) and its newest closed partition; --drop removes the
// packed copy afterwards. The packed statements are the shapes a read building block would use (issue 15 point 6);
// the two "019" cases are migration 019's search (the others' rare-word cases are 018's per-row test).
import pg from 'pg';
import { PG_HOST, PG_PORT, PG_USER } from '../../test/helpers/test-env.js';
import { SEARCH_DATABASE } from '../lib/search-table.js';

const c = new pg.Client({ host: PG_HOST, port: Number(PG_PORT), user: PG_USER, database: process.argv[2] ?? SEARCH_DATABASE });
await c.connect();
const P = process.argv[3] ?? (await c.query(`SELECT name FROM logs_partitions WHERE closed ORDER BY id_from DESC LIMIT 1`)).rows[0].name;
const K = `${P}_packed`;
// A copy built before migration 019 (no msg_starts) is built again.
if (Number((await c.query(`SELECT to_regclass($1) AS r, (SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'msg_starts') AS n`, [K])).rows[0].n) === 0) {
  console.log(`packing ${P} (a copy, logs_pack_build)…`);
  const s = performance.now();
  await c.query(`SET maintenance_work_mem = '256MB'`);
  const b = (await c.query(`SELECT * FROM logs_pack_build($1)`, [P])).rows[0];
  await c.query(`VACUUM ANALYZE ${K}`);
  console.log(`  ${b.rows} rows in ${b.batches} batches, ${((performance.now() - s) / 1000).toFixed(1)} s`);
}
const sizes = (await c.query(`SELECT (SELECT count(*) FROM ${P}) AS n, pg_total_relation_size($1::regclass) AS rows_b, pg_total_relation_size($2::regclass) AS packed_b`, [P, K])).rows[0];
console.log(`${P}: ${sizes.n} rows; bytes a row (heap + TOAST + indexes): rows ${(sizes.rows_b / sizes.n).toFixed(1)}, packed ${(sizes.packed_b / sizes.n).toFixed(1)}`);
const U = `${K} b CROSS JOIN LATERAL logs_unpack(b.ids, b.stream_ids, b.event_ids, b.timestamps, b.received_ats, b.levels, b.services, b.messages, b.attrs) r`;
const mid = (await c.query(`SELECT id, event_id, "timestamp" FROM ${P} ORDER BY id OFFSET 700000 LIMIT 1`)).rows[0];
const hi = (await c.query(`SELECT max(id) m FROM ${P}`)).rows[0].m;
const t0 = new Date(mid.timestamp.getTime()).toISOString(), t1 = new Date(mid.timestamp.getTime() + 60_000).toISOString();
// Migration 019's search: the batch test by a case-sensitive regex of lower()'s preimages, the rows by
// logs_pack_find(), the other columns by position; its arguments are computed once a search (timed apart below).
const search = async (q: string) => {
  const s = performance.now();
  const a = (await c.query(`SELECT * FROM logs_pack_search_args($1)`, [q])).rows[0];
  const ms = performance.now() - s;
  const lit = (x: string) => c.escapeLiteral(x);
  return { ms, sql: `SELECT b.ids[o] AS id, b.stream_ids[o] AS stream_id, b.event_ids[o] AS event_id, b.timestamps[o] AS "timestamp", b.received_ats[o] AS received_at,
            b.levels[o] AS level, b.services[o] AS service, b.messages[o] AS message, b.attrs[o] AS attributes
     FROM ${K} b CROSS JOIN LATERAL unnest(logs_pack_find(b.messages, b.msg_starts, ${lit(a.lq)}, ARRAY[${a.folds.map(lit).join(',')}]::text[])) o
     WHERE logs_msgs_text(b.messages) ~ ${lit(a.re)} AND strpos(lower(b.messages[o]), ${lit(a.lq)}) > 0 ORDER BY 1 DESC LIMIT 1000` };
};
const rare = await search('deadlock'), absent = await search('zzqx-absent');
console.log(`logs_pack_search_args: ${rare.ms.toFixed(1)} ms ('deadlock', first call), ${absent.ms.toFixed(1)} ms ('zzqx-absent')`);
const cases: [string, string, string][] = [
  ['rare word, 019 (regex test, find)', `SELECT * FROM ${P} WHERE message ILIKE '%deadlock%' AND strpos(lower(message), 'deadlock') > 0 ORDER BY id DESC LIMIT 1000`, rare.sql],
  ['absent word, 019', `SELECT * FROM ${P} WHERE message ILIKE '%zzqx-absent%' AND strpos(lower(message), 'zzqx-absent') > 0 ORDER BY id DESC LIMIT 1000`, absent.sql],
  ['rare word, every match (limit 1000)', `SELECT * FROM ${P} WHERE message ILIKE '%deadlock%' AND strpos(lower(message), 'deadlock') > 0 ORDER BY id DESC LIMIT 1000`,
    `SELECT r.* FROM ${U} WHERE logs_msgs_text(b.messages) ILIKE '%deadlock%' AND strpos(lower(r.message), 'deadlock') > 0 ORDER BY r.id DESC LIMIT 1000`],
  // The same, unnesting only ids and messages and taking the other columns of the matches by position.
  ['rare word, other columns by position', `SELECT * FROM ${P} WHERE message ILIKE '%deadlock%' AND strpos(lower(message), 'deadlock') > 0 ORDER BY id DESC LIMIT 1000`,
    `SELECT x.id, b.stream_ids[x.o] AS stream_id, b.event_ids[x.o] AS event_id, b.timestamps[x.o] AS "timestamp", b.received_ats[x.o] AS received_at, b.levels[x.o] AS level,
            b.services[x.o] AS service, x.message, b.attrs[x.o] AS attributes
     FROM ${K} b CROSS JOIN LATERAL unnest(b.ids, b.messages) WITH ORDINALITY x(id, message, o)
     WHERE logs_msgs_text(b.messages) ILIKE '%deadlock%' AND strpos(lower(x.message), 'deadlock') > 0 ORDER BY x.id DESC LIMIT 1000`],
  ['absent word', `SELECT * FROM ${P} WHERE message ILIKE '%zzqx-absent%' AND strpos(lower(message), 'zzqx-absent') > 0 ORDER BY id DESC LIMIT 1000`,
    `SELECT r.* FROM ${U} WHERE logs_msgs_text(b.messages) ILIKE '%zzqx-absent%' AND strpos(lower(r.message), 'zzqx-absent') > 0 ORDER BY r.id DESC LIMIT 1000`],
  ['newest 50 before an id', `SELECT * FROM ${P} WHERE id < ${mid.id} ORDER BY id DESC LIMIT 50`,
    `SELECT r.* FROM ${U} WHERE b.id_from < ${mid.id} AND r.id < ${mid.id} ORDER BY b.id_from DESC, r.id DESC LIMIT 50`],
  ['service=billing, newest 50', `SELECT * FROM ${P} WHERE service = 'billing' AND id < ${hi} ORDER BY id DESC LIMIT 50`,
    `SELECT r.* FROM ${U} WHERE b.service_set @> ARRAY['billing'] AND b.id_from < ${hi} AND r.service = 'billing' ORDER BY b.id_from DESC, r.id DESC LIMIT 50`],
  ['level>=error, newest 50', `SELECT * FROM ${P} WHERE level >= 50 ORDER BY id DESC LIMIT 50`,
    `SELECT r.* FROM ${U} WHERE b.level_mask >= 32 AND r.level >= 50 ORDER BY b.id_from DESC, r.id DESC LIMIT 50`],
  ['one minute of timestamps, newest 50', `SELECT * FROM ${P} WHERE "timestamp" >= '${t0}' AND "timestamp" < '${t1}' ORDER BY id DESC LIMIT 50`,
    `SELECT r.* FROM ${U} WHERE b.ts_max >= '${t0}' AND b.ts_min < '${t1}' AND r."timestamp" >= '${t0}' AND r."timestamp" < '${t1}' ORDER BY b.id_from DESC, r.id DESC LIMIT 50`],
  ['by event id', `SELECT * FROM ${P} WHERE event_id = '${mid.event_id}'`,
    `SELECT r.* FROM ${U} WHERE logs_eid_keys(b.event_ids) @> ARRAY[logs_eid_key('${mid.event_id}')] AND r.event_id = '${mid.event_id}'`],
  ['by id', `SELECT * FROM ${P} WHERE id = ${mid.id}`, `SELECT r.* FROM ${U} WHERE b.id_from <= ${mid.id} AND b.id_to >= ${mid.id} AND r.id = ${mid.id}`],
];
const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
for (const [name, a, b] of cases) {
  const ta: number[] = [], tb: number[] = [];
  let na = 0, nb = 0, same = true;
  for (let i = 0; i < 7; i++) {
    for (const [sql, out, which] of (i % 2 ? [[b, tb, 1], [a, ta, 0]] : [[a, ta, 0], [b, tb, 1]]) as [string, number[], number][]) {
      const s = performance.now(); const r = await c.query(sql); out.push(performance.now() - s);
      if (which === 0) na = r.rowCount!; else nb = r.rowCount!;
      if (i === 0 && which === 1) { const ra = await c.query(a); same = JSON.stringify(ra.rows) === JSON.stringify(r.rows); }
    }
  }
  console.log(`${name.padEnd(38)} rows ${med(ta).toFixed(1).padStart(7)} ms (${na})   packed ${med(tb).toFixed(1).padStart(7)} ms (${nb})  same rows: ${same}`);
}
if (process.argv.includes('--drop')) await c.query(`DROP TABLE ${K}`);
await c.end();
