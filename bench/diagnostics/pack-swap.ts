// node --import tsx bench/diagnostics/pack-swap.ts [rows]
// What packing costs a running stack (issue 15 point 6, shared/src/pack.ts): in a database of its own (dropped at
// the end), a closed partition of the bench's rows (bench/lib/payload.ts; 190,000 by default, as the stats
// scenario's closed partition) four days old, packed by one maintenance pass (PACK_AFTER 2 days) while batches of
// 1,000 rows are stored into the partition being written through the processor's statement, one after another.
// Prints the build and swap times, the bytes before and after, and the ingest rate and the slowest batch before,
// during and after the pack (the swap's lock on logs holds inserts for as long as it lasts); then packs a second
// such partition with nothing else running.
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { createPool, ensureDatabase } from '@logstream/shared/db.js';
import { migrate } from '@logstream/shared/migrate.js';
import { maintainStorage } from '@logstream/shared/storage.js';
import { storeRows } from '../../processor/src/store-batch.js';
import { PG_HOST, PG_PORT, PG_USER } from '../../test/helpers/test-env.js';
import { benchRowsSelect, LOGS_COLUMNS } from '../lib/payload.js';

const ROWS = Number(process.argv[2] ?? 190_000);
const DAY = 86_400;
const ID_STEP = 1_048_576;
const database = `ls_diag_pack_${randomBytes(4).toString('hex')}`;
const cfg = { DB_HOST: PG_HOST, DB_PORT: PG_PORT, POSTGRES_USER: PG_USER, POSTGRES_DB: database, POSTGRES_PASSWORD: undefined, DATABASE_URL: undefined };
await ensureDatabase(cfg);
const pool = createPool(cfg, { max: 6 });
const settings = { PARTITION_INTERVAL: DAY, RETENTION: 0, ROLLUP_RETENTION: 0, PACK_AFTER: 2 * DAY };
try {
  await migrate(pool);
  await maintainStorage(pool, { ...settings, PACK_AFTER: 0 });
  const partition = async (daysAgo: number) => {
    const from = Math.floor(Date.now() / 1000 / DAY) * DAY - daysAgo * DAY;
    const name = `logs_${new Date(from * 1000).toISOString().slice(0, 10).replace(/-/g, '')}_000000`;
    await pool.query(`CREATE TABLE ${name} (LIKE logs INCLUDING DEFAULTS)`);
    await pool.query(`CREATE UNIQUE INDEX ${name}_event_id_key ON ${name} (event_id)`);
    await pool.query(`ALTER TABLE logs ATTACH PARTITION ${name} FOR VALUES FROM (${from * ID_STEP}) TO (${(from + DAY) * ID_STEP})`);
    await pool.query(`INSERT INTO logs_partitions (name, id_from, id_to, time_from, time_to) VALUES ($1, $2, $3, to_timestamp($4), to_timestamp($5))`, [name, from * ID_STEP, (from + DAY) * ID_STEP, from, from + DAY]);
    await pool.query(`INSERT INTO logs ${LOGS_COLUMNS} ${benchRowsSelect(`${from * ID_STEP}::bigint + i`, `to_timestamp(${from}) + i * interval '1 ms'`, 0, ROWS - 1)}`);
    await pool.query(`VACUUM ANALYZE ${name}`);
    await pool.query('SELECT logs_close_partitions()');
    return name;
  };
  // The older one is packed first, with ingest beside it; the other one after, alone (its swap then waits for
  // nothing: its time is the lock's hold and the row count before it).
  const name = await partition(4);
  await partition(3);
  console.log(`${name}: ${ROWS.toLocaleString('en')} rows, ${(Number((await pool.query(`SELECT pg_total_relation_size($1::regclass) AS b`, [name])).rows[0].b) / ROWS).toFixed(1)} B a row as rows (no search index: it is due for packing)`);

  let phase = 'before' as 'before' | 'during' | 'after' | 'stop';
  const stats = { before: { rows: 0, ms: 0, worst: 0 }, during: { rows: 0, ms: 0, worst: 0 }, after: { rows: 0, ms: 0, worst: 0 } };
  const ingest = (async () => {
    for (let n = 0; phase !== 'stop'; n++) {
      const now = Date.now();
      const rows = Array.from({ length: 1000 }, (_, i) => `{"sid":"d-${n}-${i}","eid":"${randomUUID()}","message":"GET /api/v1/users/${i} 200 ${i % 997}ms user=${randomUUID()}","level":30,"service":"api","ts":${now},"rt":${now},"attributes":{"host":"web-${i % 16}"}}`);
      const p = phase;
      const s = performance.now();
      await storeRows(pool, `[${rows.join(',')}]`, 'logs_diag_pack');
      const ms = performance.now() - s;
      if ((p as string) === 'stop') break;
      stats[p].rows += 1000;
      stats[p].ms += ms;
      stats[p].worst = Math.max(stats[p].worst, ms);
    }
  })();
  await new Promise((r) => setTimeout(r, 10_000));
  // The swap counts the partition's rows before its DETACH (logs_pack_swap): that part holds no lock on logs.
  const c0 = performance.now();
  await pool.query(`SELECT count(*) FROM ${name}`);
  const countMs = performance.now() - c0;
  phase = 'during';
  const t0 = performance.now();
  const r = await maintainStorage(pool, settings);
  const passSeconds = (performance.now() - t0) / 1000;
  phase = 'after';
  await new Promise((r) => setTimeout(r, 10_000));
  phase = 'stop';
  await ingest;
  if (!r.pack || !('packed' in r.pack)) throw new Error(`nothing packed: ${JSON.stringify(r.pack)}`);
  const p = r.pack.packed;
  console.log(`packed ${p.partition}: ${p.rows.toLocaleString('en')} rows, ${(p.bytesBefore / 1024 / 1024).toFixed(1)} → ${(p.bytesAfter / 1024 / 1024).toFixed(1)} MiB (${(p.bytesBefore / p.rows).toFixed(1)} → ${(p.bytesAfter / p.rows).toFixed(1)} B a row), build ${p.buildSeconds.toFixed(2)} s, swap ${(p.swapSeconds * 1000).toFixed(1)} ms (of which its row count ~${countMs.toFixed(0)} ms, before the lock on logs), pass ${passSeconds.toFixed(2)} s`);
  for (const [k, s] of Object.entries(stats)) {
    console.log(`ingest ${k.padEnd(6)}: ${Math.round(s.rows / (s.ms / 1000)).toLocaleString('en')} rows/s while storing (${s.rows.toLocaleString('en')} rows), slowest 1,000-row batch ${s.worst.toFixed(1)} ms`);
  }
  const quiet = await maintainStorage(pool, settings);
  if (quiet.pack && 'packed' in quiet.pack) {
    const q = quiet.pack.packed;
    console.log(`packed ${q.partition} without ingest: build ${q.buildSeconds.toFixed(2)} s, swap ${(q.swapSeconds * 1000).toFixed(1)} ms`);
  }
  const load = (await import('node:os')).loadavg();
  console.log(`load average ${load.map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  await pool.end();
  const admin = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
}
