// Packing in the maintenance loop (issue 15 point 6; shared/src/pack.ts): a pass packs the oldest closed partition
// older than PACK_AFTER, one a pass, and only those; the rows read (logs and logs_packed together, the gateway's
// logsSourceSql) are the same before and after; ingest goes on during a pack, every row stored once; two
// maintenance runners pack each partition once; a pack cut short (a build killed, a swap never run, a swap that gave
// up on its lock, a processor stopping mid-build) is completed by the next pass; retention by age and by size drops
// packed partitions and records their rows; status and the search-index builder know packed partitions;
// PACK_AFTER=0 packs nothing, and one below 2 × PARTITION_INTERVAL stops a processor at start-up.
// Closed partitions are made in the past (2-second ranges an hour or more ago, rows with ids of their time), so that
// which of them are due does not depend on how fast the test runs; the partitions of now are 2 seconds too.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchWhere, logsSourceSql } from '../gateway/src/sql/logs-source.js';
import { storeRows } from '../processor/src/store-batch.js';
import { StorageMaintenance } from '../processor/src/storage-maintenance.js';
import { processorMetrics } from '../processor/src/metrics.js';
import { parseProcessorConfig } from '../processor/src/config.js';
import { ConfigError, REPO_ROOT } from '@logstream/shared/config.js';
import { createLogger } from '@logstream/shared/logger.js';
import { buildSearchIndexes, INDEXED_RANGES_SQL, searchIndexName, searchIndexStates } from '@logstream/shared/search-index.js';
import { Sql } from '@logstream/shared/sql.js';
import { maintainStorage, partitionStatus, storageTotals, type StorageSettings } from '@logstream/shared/storage.js';
import { lettersMessage } from './helpers/seed.js';
import { startService, stopAll } from './helpers/services.js';
import { createTestEnv, sleep, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
const ID_STEP = 1_048_576;
/** PACK_AFTER of these tests: an hour, so that the partitions of now never become due while the tests run. */
const PACK_AFTER = 3600;
const settings = (over: Partial<StorageSettings> = {}): StorageSettings => ({ PARTITION_INTERVAL: 2, RETENTION: 0, ROLLUP_RETENTION: 0, PACK_AFTER, ...over });

/** The first second of the past partitions (two hours ago, even): partition k covers [base + 4k, base + 4k + 2). */
let base = 0;
let made = 0;

/**
 * A closed partition two hours ago (or `secondsAgo` ago) holding `rows` rows, created and attached as
 * logs_create_partitions() does and closed by logs_close_partitions(). Rows of every kind: levels, services,
 * attributes or none, a NULL event id every 17th.
 */
async function pastPartition(rows: number, secondsAgo?: number): Promise<string> {
  const now = Number((await t.pool.query<{ s: string }>(`SELECT floor(extract(epoch FROM now()))::bigint AS s`)).rows[0]!.s);
  const from = secondsAgo === undefined ? base + 4 * made++ : Math.floor((now - secondsAgo) / 2) * 2;
  const name = (await t.pool.query<{ n: string }>(`SELECT 'logs_' || to_char(to_timestamp($1) AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24MISS') AS n`, [from])).rows[0]!.n;
  await t.pool.query(`CREATE TABLE ${name} (LIKE logs INCLUDING DEFAULTS)`);
  await t.pool.query(`CREATE UNIQUE INDEX ${name}_event_id_key ON ${name} (event_id)`);
  await t.pool.query(`ALTER TABLE logs ATTACH PARTITION ${name} FOR VALUES FROM (${from * ID_STEP}) TO (${(from + 2) * ID_STEP})`);
  await t.pool.query(`INSERT INTO logs_partitions (name, id_from, id_to, time_from, time_to) VALUES ($1, $2, $3, to_timestamp($4), to_timestamp($4 + 2))`, [name, from * ID_STEP, (from + 2) * ID_STEP, from]);
  const messages = Array.from({ length: Math.min(rows, 500) }, (_, i) => lettersMessage(i, ['a', 'b', 'c', 'A', 'é', ' ', 'k']));
  await t.pool.query(
    `INSERT INTO logs (id, stream_id, event_id, "timestamp", received_at, level, service, message, attributes)
     SELECT $1::bigint + i, $2 || '-' || i, CASE WHEN i % 17 = 0 THEN NULL ELSE gen_random_uuid() END,
            to_timestamp($3) + i * interval '1 microsecond', to_timestamp($3 + 1) + i * interval '1 microsecond',
            (ARRAY[10, 20, 30, 30, 40, 50, 60])[1 + i % 7], (ARRAY['api', 'web', 'auth'])[1 + i % 3],
            ($5::text[])[1 + i % cardinality($5::text[])] || ' ' || md5(i::text),
            CASE WHEN i % 5 = 0 THEN '{}' ELSE jsonb_build_object('host', 'h' || i % 4, 'n', i, 'ok', i % 2 = 0) END
     FROM generate_series(0, $4 - 1) i`,
    [from * ID_STEP, `past-${from}`, from, rows, messages],
  );
  await t.pool.query('SELECT logs_close_partitions()');
  return name;
}

const rangeOf = async (name: string) => {
  const r = (await t.pool.query<{ f: string; t: string }>(`SELECT id_from AS f, id_to AS t FROM logs_partitions WHERE name = $1`, [name])).rows[0]!;
  return [r.f, r.t] as const;
};

/** Every row of a partition's range, wherever it is stored, as the gateway reads them (logs and logs_packed in one statement). */
async function readRange(from: string, to: string): Promise<unknown[]> {
  const sql = new Sql([from, to]);
  const source = logsSourceSql(['id >= $1', 'id < $2'], batchWhere({ idGe: '$1', idLt: '$2' }, undefined, sql));
  return (await t.pool.query(`SELECT * FROM (${source}) l ORDER BY id`, sql.values)).rows;
}
const readPartition = async (name: string) => readRange(...(await rangeOf(name)));

/** Rows of a range in each table: [in logs, in logs_packed]. */
async function whereStored(name: string): Promise<[number, number]> {
  const [from, to] = await rangeOf(name);
  const a = (await t.pool.query(`SELECT count(*)::int AS n FROM logs WHERE id >= $1 AND id < $2`, [from, to])).rows[0].n;
  const b = (await t.pool.query(`SELECT coalesce(sum(row_count), 0)::int AS n FROM logs_packed WHERE id_from >= $1 AND id_from < $2`, [from, to])).rows[0].n;
  return [a, b];
}
const isPacked = async (name: string) => (await t.pool.query(`SELECT packed FROM logs_partitions WHERE name = $1`, [name])).rows[0]?.packed as boolean | undefined;
const exists = async (table: string) => (await t.pool.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [table])).rows[0].ok as boolean;
const packedBy = (r: Awaited<ReturnType<typeof maintainStorage>>) => (r.pack && 'packed' in r.pack ? r.pack.packed.partition : undefined);

beforeAll(async () => {
  t = await createTestEnv('pack_swap', { partitions: false });
  await t.pool.query(`UPDATE logs_storage_settings SET partition_interval = '2 seconds'`);
  const now = Number((await t.pool.query<{ s: string }>(`SELECT floor(extract(epoch FROM now()))::bigint AS s`)).rows[0]!.s);
  base = Math.floor((now - 2 * 3600) / 2) * 2;
  await maintainStorage(t.pool, settings({ PACK_AFTER: 0 }));
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

describe('packing in the maintenance loop', () => {
  let a: string;
  let b: string;
  let young: string;
  let before: Map<string, unknown[]>;

  it('PACK_AFTER=0 packs nothing; the search-index builder skips the partitions due for packing', async () => {
    a = await pastPartition(1000);
    b = await pastPartition(250);
    // Closed, but its range ended half an hour ago: not due with PACK_AFTER one hour.
    young = await pastPartition(120, 1800);
    before = new Map();
    for (const p of [a, b, young]) before.set(p, await readPartition(p));
    expect(before.get(a)).toHaveLength(1000);

    for (let i = 0; i < 2; i++) expect((await maintainStorage(t.pool, settings({ PACK_AFTER: 0 }))).pack).toBeUndefined();
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM logs_partitions WHERE packed`)).rows[0].n).toBe(0);

    // No row index for a partition about to be packed (its rows are dropped by the swap): neither the search index
    // nor a B-tree rebuilt full; the young closed one gets both.
    await buildSearchIndexes(t.pool, { chunkRows: 0, packAfterSeconds: PACK_AFTER });
    for (const p of [a, b]) expect(await exists(searchIndexName(p))).toBe(false);
    expect(await exists(searchIndexName(young))).toBe(true);
    const compacted = async (p: string) =>
      (await t.pool.query(`SELECT count(*)::int AS n FROM pg_index i WHERE i.indrelid = to_regclass($1) AND obj_description(i.indexrelid, 'pg_class') = 'compact'`, [p])).rows[0].n;
    expect(await compacted(a)).toBe(0);
    expect(await compacted(young)).toBeGreaterThan(0);
    const states = new Map((await searchIndexStates(t.pool, PACK_AFTER)).map((s) => [s.partition, s.state]));
    expect(states.get(a)).toBe('none (to be packed)');
    expect(states.get(young)).toBe('built');
  });

  it('a pass packs the oldest partition older than PACK_AFTER, one a pass, and no other; the rows read the same', { timeout: 60_000 }, async () => {
    const r1 = await maintainStorage(t.pool, settings());
    expect(packedBy(r1)).toBe(a);
    expect(packedBy(await maintainStorage(t.pool, settings()))).toBe(b);
    expect((await maintainStorage(t.pool, settings())).pack).toBeUndefined();

    const p = r1.pack && 'packed' in r1.pack ? r1.pack.packed : undefined;
    expect(p).toMatchObject({ partition: a, rows: 1000, resumed: false });
    // Bytes of the copy (a 1,000-row copy is larger than its rows: its nine indexes take a few pages each).
    expect(p!.bytesAfter).toBe(Number((await t.pool.query(`SELECT pg_total_relation_size($1::regclass) AS b`, [`${a}_packed`])).rows[0].b));

    for (const x of [a, b]) {
      expect(await isPacked(x)).toBe(true);
      expect(await exists(x)).toBe(false);
      expect(await readPartition(x)).toEqual(before.get(x));
    }
    expect(await whereStored(a)).toEqual([0, 1000]);
    // The young closed partition and those of now are still rows.
    expect(await isPacked(young)).toBe(false);
    expect(await whereStored(young)).toEqual([120, 0]);
    expect(await readPartition(young)).toEqual(before.get(young));
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM logs_partitions WHERE packed`)).rows[0].n).toBe(2);
    // The copy is a partition of logs_packed.
    const { rows: parents } = await t.pool.query(`SELECT inhparent::regclass::text AS parent FROM pg_inherits WHERE inhrelid = to_regclass($1)`, [`${a}_packed`]);
    expect(parents).toEqual([{ parent: 'logs_packed' }]);
  });

  it('status shows a packed partition with its rows, the bytes and indexes of its copy; the totals count it', async () => {
    const status = await partitionStatus(t.pool);
    const s = status.find((x) => x.name === a)!;
    expect(s.state).toBe('packed');
    expect(s.rows).toBe(1000);
    const copyBytes = Number((await t.pool.query(`SELECT pg_total_relation_size($1::regclass) AS b`, [`${a}_packed`])).rows[0].b);
    expect(s.bytes).toBe(copyBytes);
    expect(s.indexes).toEqual(expect.arrayContaining([`${a}_packed_id_from`, `${a}_packed_trgm`, `${a}_packed_eid`]));
    expect((await partitionStatus(t.pool, true)).find((x) => x.name === a)!.rows).toBe(1000);
    expect(status.find((x) => x.name === young)!.state).toBe('closed');
    const totals = await storageTotals(t.pool);
    expect(totals.bytes).toBe(status.reduce((sum, x) => sum + x.bytes, 0));
    expect(totals.partitions).toBe(status.length);

    // npm run storage -- status prints it.
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'cli/src/storage.ts', 'status'], { cwd: REPO_ROOT, env: { ...process.env, ...t.env, PARTITION_INTERVAL: '60', PACK_AFTER: '120' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^${a}\\s+packed\\s.*\\s1,000\\s.*${a}_packed_trgm`, 'm'));
    expect(out.stdout).toContain('PACK_AFTER 120 s');

    // The search-index builder leaves packed partitions alone: no error, no row index, none of their ranges read
    // through a row index.
    await buildSearchIndexes(t.pool, { chunkRows: 0, packAfterSeconds: PACK_AFTER });
    const states = new Map((await searchIndexStates(t.pool, PACK_AFTER)).map((x) => [x.partition, x.state]));
    expect(states.get(a)).toBe('packed');
    const [from] = await rangeOf(a);
    expect((await t.pool.query(INDEXED_RANGES_SQL)).rows.filter((r) => r.id_from === from)).toEqual([]);
  });

  it('ingest goes on while a partition is packed: every row stored once', { timeout: 120_000 }, async () => {
    const big = await pastPartition(30_000);
    const rowsBefore = await readPartition(big);
    let stop = false;
    let stored = 0;
    let batches = 0;
    let batchesDuringPack = 0;
    let packing = false;
    const sids: string[] = [];
    const ingest = (async () => {
      for (let n = 0; !stop; n++) {
        const now = Date.now();
        const rows = Array.from({ length: 100 }, (_, i) => ({ sid: `ingest-${n}-${i}`, eid: randomUUID(), message: `during pack ${n} ${i}`, level: 30, service: 'ingest', ts: now, rt: now, attributes: {} }));
        sids.push(...rows.map((r) => r.sid));
        stored += (await storeRows(t.pool, JSON.stringify(rows), t.channel)).inserted;
        batches++;
        if (packing) batchesDuringPack++;
      }
    })();
    // Some batches before the pack starts.
    while (batches < 5) await sleep(20);
    packing = true;
    const r = await maintainStorage(t.pool, settings());
    packing = false;
    const atEnd = batches;
    while (batches < atEnd + 5) await sleep(20);
    stop = true;
    await ingest;

    expect(packedBy(r)).toBe(big);
    const packed = r.pack && 'packed' in r.pack ? r.pack.packed : undefined;
    // Smaller, though the copy has a search index and the rows had none (not built: the partition was due).
    expect(packed!.bytesAfter).toBeLessThan(packed!.bytesBefore);
    expect(batchesDuringPack).toBeGreaterThan(0);
    expect(stored).toBe(sids.length);
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n, count(DISTINCT stream_id)::int AS d FROM logs WHERE service = 'ingest'`);
    expect(rows[0]).toEqual({ n: sids.length, d: sids.length });
    expect(await readPartition(big)).toEqual(rowsBefore);
  });

  it('two maintenance runners at once pack each partition once', { timeout: 120_000 }, async () => {
    const parts = [await pastPartition(3000), await pastPartition(3000), await pastPartition(3000)];
    const rowsBefore = await Promise.all(parts.map(readPartition));
    const pool2 = new pg.Pool({ host: t.env.DB_HOST, port: Number(t.env.DB_PORT), user: t.env.POSTGRES_USER, database: t.database, max: 3 });
    const runners = [t.pool, pool2].map((db) => ({ metrics: processorMetrics(), db }));
    const maint = runners.map((r) => new StorageMaintenance(r.db, { ...settings(), MAINTENANCE_INTERVAL_MS: 3_600_000, SEARCH_INDEX: 'off' }, createLogger('test', 'silent'), r.metrics));
    try {
      for (let round = 0; round < 10; round++) await Promise.all(maint.map((m) => m.runOnce()));
    } finally {
      await Promise.all(maint.map((m) => m.stop()));
      await pool2.end();
    }
    for (const [i, p] of parts.entries()) {
      expect(await isPacked(p)).toBe(true);
      expect(await whereStored(p)).toEqual([0, 3000]);
      expect(await readPartition(p)).toEqual(rowsBefore[i]);
    }
    // logstream_partitions_packed_total of both: three packs in all.
    const counts = await Promise.all(runners.map(async (r) => (await r.metrics.partitionsPacked.get()).values[0]?.value ?? 0));
    expect(counts[0]! + counts[1]!).toBe(3);
  });

  it('a copy built but never swapped (a crash between the two) is swapped in by the next pass', async () => {
    const p = await pastPartition(500);
    const rowsBefore = await readPartition(p);
    await t.pool.query(`SELECT logs_pack_build($1)`, [p]);
    expect(await isPacked(p)).toBe(false);
    const r = await maintainStorage(t.pool, settings());
    expect(r.pack && 'packed' in r.pack ? r.pack.packed : undefined).toMatchObject({ partition: p, rows: 500, resumed: true, buildSeconds: 0 });
    expect(await readPartition(p)).toEqual(rowsBefore);
  });

  it('a swap leaves the rows renamed, not dropped, in its transaction; the pass drops them after it, and a leftover next time (021)', async () => {
    const p = await pastPartition(300);
    await t.pool.query(`SELECT logs_pack_build($1)`, [p]);
    // The swap alone (a crash right after its commit): the rows are out of logs, renamed, still on disk.
    await t.pool.query(`SELECT logs_pack_swap($1)`, [p]);
    expect(await exists(p)).toBe(false);
    expect(await exists(`${p}_rows`)).toBe(true);
    expect(await whereStored(p)).toEqual([0, 300]);
    await maintainStorage(t.pool, settings());
    expect(await exists(`${p}_rows`)).toBe(false);
    // A pass that packs drops the rows it swapped out before it returns.
    const q = await pastPartition(200);
    expect(packedBy(await maintainStorage(t.pool, settings()))).toBe(q);
    expect(await exists(q)).toBe(false);
    expect(await exists(`${q}_rows`)).toBe(false);
  });

  it('a build killed half-way leaves nothing, and the next pass packs the partition', { timeout: 60_000 }, async () => {
    const p = await pastPartition(30_000);
    const rowsBefore = await readPartition(p);
    const c = new pg.Client({ host: t.env.DB_HOST, port: Number(t.env.DB_PORT), user: t.env.POSTGRES_USER, database: t.database });
    c.on('error', () => {});
    await c.connect();
    const building = c.query(`SELECT logs_pack_build($1)`, [p]).then(
      () => 'built',
      () => 'killed',
    );
    // Once it is under way (its copy's table is created in its first statements), the backend is killed.
    for (let i = 0; i < 200; i++) {
      const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT logs_pack_build%' AND state = 'active'`);
      if (rows[0].n > 0) break;
      await sleep(10);
    }
    await sleep(100);
    await t.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT logs_pack_build%' AND pid <> pg_backend_pid()`);
    expect(await building).toBe('killed');
    await c.end().catch(() => {});
    expect(await exists(`${p}_packed`)).toBe(false);
    expect(await isPacked(p)).toBe(false);
    const r = await maintainStorage(t.pool, settings());
    expect(r.pack && 'packed' in r.pack ? r.pack.packed : undefined).toMatchObject({ partition: p, rows: 30_000, resumed: false });
    expect(await readPartition(p)).toEqual(rowsBefore);
  });

  it('a processor stopping during a build cancels it: nothing is left, the next pass packs the partition', { timeout: 60_000 }, async () => {
    const p = await pastPartition(30_000);
    const maintenance = new StorageMaintenance(t.pool, { ...settings(), MAINTENANCE_INTERVAL_MS: 3_600_000, SEARCH_INDEX: 'off' }, createLogger('test', 'silent'), processorMetrics());
    const pass = maintenance.runOnce();
    for (let i = 0; i < 500; i++) {
      const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT logs_pack_build%' AND state = 'active'`);
      if (rows[0].n > 0) break;
      await sleep(10);
    }
    await maintenance.stop();
    await pass;
    expect(await exists(`${p}_packed`)).toBe(false);
    expect(await isPacked(p)).toBe(false);
    expect(packedBy(await maintainStorage(t.pool, settings()))).toBe(p);
  });

  it('a swap that gives up on its lock (a long read of logs) is retried by the next pass, with the same copy', async () => {
    const p = await pastPartition(300);
    const rowsBefore = await readPartition(p);
    const reader = await t.pool.connect();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT id FROM logs LIMIT 1');
      const r = await maintainStorage(t.pool, settings());
      expect(r.pack).toMatchObject({ retry: p });
      expect(await isPacked(p)).toBe(false);
      expect(await exists(`${p}_packed`)).toBe(true);
      expect(await readPartition(p)).toEqual(rowsBefore);
    } finally {
      await reader.query('COMMIT');
      reader.release();
    }
    const r = await maintainStorage(t.pool, settings());
    expect(r.pack && 'packed' in r.pack ? r.pack.packed : undefined).toMatchObject({ partition: p, rows: 300, resumed: true });
    expect(await readPartition(p)).toEqual(rowsBefore);
  });

  it('retention by age and by size drops packed partitions and records their rows', { timeout: 60_000 }, async () => {
    // Pack the young one too (PACK_AFTER below its age), so that both kinds of retention meet a packed partition.
    expect(packedBy(await maintainStorage(t.pool, settings({ PACK_AFTER: 600 })))).toBe(young);
    const packedBefore = (await t.pool.query<{ name: string }>(`SELECT name FROM logs_partitions WHERE packed AND name <> $1 ORDER BY id_from`, [young])).rows.map((r) => r.name);
    expect(packedBefore.length).toBeGreaterThanOrEqual(8);
    const rowsOf = new Map<string, number>();
    for (const p of [...packedBefore, young]) rowsOf.set(p, (await whereStored(p))[1]);

    // By age: everything that ended over 5,000 s ago (the partitions two hours ago), all packed.
    const byAge = await maintainStorage(t.pool, settings({ RETENTION: 5000, PACK_AFTER: 0 }));
    expect(byAge.dropped).toEqual(packedBefore);
    for (const p of packedBefore) {
      expect(await exists(`${p}_packed`)).toBe(false);
      const d = (await t.pool.query(`SELECT rows, bytes, reason FROM logs_dropped WHERE name = $1`, [p])).rows[0];
      expect(Number(d.rows)).toBe(rowsOf.get(p));
      expect(Number(d.bytes)).toBeGreaterThan(0);
      expect(d.reason).toBe('retention');
    }
    expect(await whereStored(young)).toEqual([0, 120]);

    // By size: the oldest partitions left are logs_legacy (empty) and the packed one; a limit just below the total
    // without logs_legacy drops both.
    const [youngFrom, youngTo] = await rangeOf(young);
    const legacy = (await partitionStatus(t.pool)).find((x) => x.name === 'logs_legacy')!.bytes;
    const total = (await storageTotals(t.pool)).bytes;
    const bySize = (await t.pool.query(`SELECT logs_apply_retention(NULL, $1) AS name`, [total - legacy - 1])).rows.map((r) => r.name);
    expect(bySize).toEqual(['logs_legacy', young]);
    const d = (await t.pool.query(`SELECT rows, reason FROM logs_dropped WHERE name = $1`, [young])).rows[0];
    expect(d).toEqual({ rows: 120, reason: 'size' });
    expect(await exists(`${young}_packed`)).toBe(false);
    expect(await readRange(youngFrom, youngTo)).toEqual([]);
  });
});

describe('PACK_AFTER', () => {
  it('defaults to 2 × PARTITION_INTERVAL; 0 turns packing off; below 2 intervals is refused, saying why', () => {
    expect(parseProcessorConfig({}).PACK_AFTER).toBe(2 * 86_400);
    expect(parseProcessorConfig({ PARTITION_INTERVAL: '1h' }).PACK_AFTER).toBe(7200);
    expect(parseProcessorConfig({ PARTITION_INTERVAL: '1h', PACK_AFTER: '2h' }).PACK_AFTER).toBe(7200);
    expect(parseProcessorConfig({ PACK_AFTER: '0' }).PACK_AFTER).toBe(0);
    expect(() => parseProcessorConfig({ PARTITION_INTERVAL: '1h', PACK_AFTER: '119m' })).toThrow(ConfigError);
    expect(() => parseProcessorConfig({ PACK_AFTER: '1d' })).toThrow(/PACK_AFTER="1d": must be 0 \(never pack\) or at least 2 × PARTITION_INTERVAL \(172800 s\).*packed partition is not searched/);
    expect(() => parseProcessorConfig({ PACK_AFTER: 'soon' })).toThrow(/PACK_AFTER="soon": expected a duration/);
  });

  it('a processor packs a due partition in its maintenance loop, logs it and counts it in /metrics', { timeout: 120_000 }, async () => {
    const p = await pastPartition(2000);
    const processor = await startService('processor', { ...t.env, PARTITION_INTERVAL: '60', PACK_AFTER: '120', RETENTION: '0', MAINTENANCE_INTERVAL_MS: '500', SEARCH_INDEX: 'off' });
    let metrics = '';
    for (let i = 0; i < 600 && !/^logstream_partitions_packed_total\S* 1$/m.test(metrics); i++) {
      await sleep(100);
      metrics = await (await fetch(`${processor.url}/metrics`)).text();
    }
    expect(metrics).toMatch(/^logstream_partitions_packed_total\S* 1$/m);
    expect(await isPacked(p)).toBe(true);
    const line = processor.output.map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; } }).find((l) => l.partition === p && typeof l.bytesAfter === 'number');
    expect(line).toMatchObject({ partition: p, rows: 2000, resumed: false });
    expect(line!.bytesBefore).toBeGreaterThan(0);
    await processor.stop();
  });

  it('a processor with PACK_AFTER below 2 intervals stops at start-up with one line naming it', async () => {
    const err = await startService('processor', { ...t.env, PARTITION_INTERVAL: '1h', PACK_AFTER: '1h' }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/exited with 1[\s\S]*PACK_AFTER="1h": must be 0 \(never pack\) or at least 2 × PARTITION_INTERVAL/);
  });
});
