// Partitioned storage (issue 15): partitions created ahead of time (also by many processes at once), reads by id and
// by time pruned to the partitions they need (EXPLAIN), the cursor across partition boundaries, dedupe of a copy
// that lands in another partition, retention by age and by size, rollups that outlive the rows, and a /live client
// whose cursor points into dropped data. Partitions of 2 seconds here, so that boundaries come by while it runs.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeRows } from '../processor/src/store-batch.js';
import { maintainStorage, partitionStatus } from '@logstream/shared/storage.js';
import { connectLive } from './helpers/live-client.js';
import { startService, stopAll, type Service } from './helpers/services.js';
import { createTestEnv, sleep, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
let gateway: Service;

beforeAll(async () => {
  t = await createTestEnv('partitions', { partitions: false });
  await t.pool.query(`UPDATE logs_storage_settings SET partition_interval = '2 seconds'`);
  gateway = await startService('gateway', { ...t.env, POLL_INTERVAL_MS: '200' });
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

interface Row {
  eid: string;
  message: string;
}
const row = (message: string, eid = randomUUID()): Row => ({ eid, message });

/** Store rows through the processor's statement; returns how many were inserted. */
async function store(rows: Row[]): Promise<number> {
  const now = Date.now();
  const json = rows.map((r) => ({ sid: `0-${randomUUID()}`, eid: r.eid, message: r.message, level: 30, service: 'parts', ts: now, rt: now, attributes: {} }));
  return (await storeRows(t.pool, JSON.stringify(json), t.channel)).inserted;
}

/** Sleep into the next 2-second partition. */
const nextPartition = () => sleep(2_000 - (Date.now() % 2_000) + 100);

const partitionOf = async (message: string) =>
  (await t.pool.query<{ p: string }>(`SELECT tableoid::regclass::text AS p FROM logs WHERE message = $1`, [message])).rows.map((r) => r.p);

const explain = async (sql: string, values: unknown[] = []) =>
  (await t.pool.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${sql}`, values)).rows.map((r) => r['QUERY PLAN']).join('\n');

describe('partitioned logs', () => {
  it('creates partitions ahead of time, the same set when many processes do it at once', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, async () => {
      const c = new pg.Client({ host: t.env.DB_HOST, port: Number(t.env.DB_PORT), user: t.env.POSTGRES_USER, database: t.database });
      await c.connect();
      return c;
    }));
    try {
      await Promise.all(clients.map((c) => c.query(`SELECT logs_create_partitions('20 seconds')`)));
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    const parts = (await partitionStatus(t.pool)).filter((p) => p.state !== 'legacy');
    // Contiguous, no overlap (ATTACH would refuse one), from the current 2 s interval to 20 s ahead.
    for (let i = 1; i < parts.length; i++) expect(parts[i]!.idFrom).toBe(parts[i - 1]!.idTo);
    expect(parts[0]!.timeFrom!.getTime()).toBeLessThanOrEqual(Date.now());
    expect(parts.at(-1)!.timeTo.getTime()).toBeGreaterThan(Date.now() + 19_000);
    expect(parts.length).toBeGreaterThanOrEqual(10);
    expect(parts.length).toBeLessThanOrEqual(12);
    // Nothing new to do for a second pass.
    expect((await t.pool.query(`SELECT logs_create_partitions('10 seconds')`)).rowCount).toBe(0);
  });

  it('keeps the cursor across partitions: /logs?after= and /live since= get every row once, in order', async () => {
    for (let p = 0; p < 3; p++) {
      expect(await store(Array.from({ length: 40 }, (_, i) => row(`cursor-${p}-${i}`)))).toBe(40);
      if (p < 2) await nextPartition();
    }
    const { rows } = await t.pool.query<{ id: number; p: string }>(`SELECT id, tableoid::regclass::text AS p FROM logs WHERE message LIKE 'cursor-%' ORDER BY id`);
    expect(new Set(rows.map((r) => r.p)).size).toBe(3);
    const all = rows.map((r) => r.id);
    const start = all[0]! - 1;

    const paged: number[] = [];
    let after = start;
    for (;;) {
      const res = await fetch(`${gateway.url}/logs?after=${after}&limit=7&service=parts`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: { id: number; message: string }[] };
      if (body.items.length === 0) break;
      paged.push(...body.items.filter((i) => i.message.startsWith('cursor-')).map((i) => i.id));
      after = body.items.at(-1)!.id;
    }
    expect(paged).toEqual(all);

    const live = await connectLive(gateway.url, `since=${start}&service=parts`);
    await live.waitForIds(all.length);
    await live.close();
    expect(live.ids.slice(0, all.length)).toEqual(all);
  });

  it('prunes reads by id and by time to the partitions they need, through each partition index', async () => {
    const { rows } = await t.pool.query<{ id: number }>(`SELECT id FROM logs WHERE message = 'cursor-2-0'`);
    const idPlan = await explain(`SELECT id FROM logs WHERE id > $1 ORDER BY id LIMIT 10`, [rows[0]!.id]);
    const [last] = await partitionOf('cursor-2-0');
    expect(idPlan).toContain(`${last}_pkey`);
    expect(idPlan).not.toContain((await partitionOf('cursor-0-0'))[0]);
    expect(idPlan).not.toContain('logs_legacy');

    // By time: closed partitions record the "timestamp" range of their rows; logs_ids_for_time() turns a time range
    // into an id range, which prunes.
    await nextPartition();
    await t.pool.query('SELECT logs_close_partitions()');
    const t0 = (await t.pool.query<{ ts: Date }>(`SELECT "timestamp" AS ts FROM logs WHERE message = 'cursor-2-0'`)).rows[0]!.ts;
    const timePlan = await explain(
      `SELECT id FROM logs WHERE "timestamp" >= $1 AND id >= (SELECT id_from FROM logs_ids_for_time($1, NULL)) ORDER BY id LIMIT 100`,
      [t0],
    );
    expect(timePlan).toMatch(new RegExp(`on ${last}\\b`));
    // The earlier partitions are in the plan but never read (pruned at run time, from the id bound).
    const first = (await partitionOf('cursor-0-0'))[0]!;
    expect(timePlan).toMatch(new RegExp(`${first}[^\\n]*\\(never executed\\)|Subplans Removed`));
    // And each partition has its "timestamp" index for them (a 40-row partition is too small to prefer it on its own).
    const c = await t.pool.connect();
    try {
      await c.query('SET enable_seqscan = off');
      const plan = (await c.query(`EXPLAIN SELECT count(*) FROM logs WHERE "timestamp" >= $1 AND id >= (SELECT id_from FROM logs_ids_for_time($1, NULL))`, [t0])).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain(`${last}_timestamp_idx`);
    } finally {
      c.release();
    }
  });

  it('stores a redelivered event once when the copy lands in the next partition', async () => {
    const eid = randomUUID();
    expect(await store([row('redelivered', eid)])).toBe(1);
    await nextPartition();
    expect(await store([row('redelivered', eid), row('after the boundary')])).toBe(1);
    expect(await partitionOf('redelivered')).toHaveLength(1);
    const [a] = await partitionOf('redelivered');
    const [b] = await partitionOf('after the boundary');
    expect(a).not.toBe(b);
  });

  it('drops whole partitions by age and by size; rollups keep counting them; /live says what was dropped', async () => {
    await nextPartition();
    const big = 'x'.repeat(400);
    for (let i = 0; i < 10; i++) await store(Array.from({ length: 1000 }, (_, j) => row(`old-${i}-${j} ${big}`)));
    const oldPart = (await partitionOf('old-0-0 ' + big))[0]!;
    const oldIds = (await t.pool.query<{ id: number }>(`SELECT min(id) AS id FROM logs WHERE message LIKE 'old-%'`)).rows[0]!.id;
    await nextPartition();
    const counted = async () => Number((await t.pool.query(`SELECT sum(n) AS n FROM logs_per_minute WHERE service = 'parts'`)).rows[0].n);
    const countedBefore = await counted();
    const size = async () => Number((await t.pool.query(`SELECT pg_database_size(current_database()) AS b`)).rows[0].b);
    const before = await size();

    // By size: the oldest partitions go while the total is over the limit; the one being written never does.
    const total = (await partitionStatus(t.pool)).reduce((a, p) => a + p.bytes, 0);
    const bySize = (await t.pool.query(`SELECT logs_apply_retention(NULL, $1) AS name`, [total - 1])).rows.map((r) => r.name);
    expect(bySize.length).toBeGreaterThanOrEqual(1);
    expect(bySize).not.toContain(oldPart);

    // By age (what RETENTION does; a 2-second retention here): everything that ended over 2 s ago.
    await nextPartition();
    // Stored in the partition being written, which retention never drops.
    expect(await store([row('kept')])).toBe(1);
    const inOldPart = Number((await t.pool.query(`SELECT count(*) AS n FROM ${oldPart}`)).rows[0].n);
    const result = await maintainStorage(t.pool, { PARTITION_INTERVAL: 2, RETENTION: 2, ROLLUP_RETENTION: 0, PACK_AFTER: 0 });
    expect(result.dropped).toContain(oldPart);
    expect(await partitionOf('old-0-0 ' + big)).toEqual([]);
    expect(await partitionOf('kept')).toHaveLength(1);
    expect(await size()).toBeLessThan(before - 4_000_000);
    const dropped = (await t.pool.query(`SELECT rows, reason FROM logs_dropped WHERE name = $1`, [oldPart])).rows[0];
    expect(Number(dropped.rows)).toBe(inOldPart);
    expect(dropped.reason).toBe('retention');
    // The rollups are kept for ROLLUP_RETENTION: /stats still counts the dropped rows.
    expect(await counted()).toBe(countedBefore + 1); // + "kept"

    const live = await connectLive(gateway.url, `since=${oldIds + 5}&service=parts`);
    const frame = await live.waitForFrame('dropped');
    await live.waitForIds(1);
    await live.close();
    expect(frame.reason).toBe('retention');
    expect(frame.from).toBe(oldIds + 6);
    expect(frame.count).toBeGreaterThanOrEqual(10_000 - 6);
    expect(live.frames.findIndex((f) => f.type === 'dropped')).toBeLessThan(live.frames.findIndex((f) => f.type === 'logs'));
    expect(live.ids[0]).toBeGreaterThan(frame.to);
  });
});
