// Migrating a populated, unpartitioned logs table (made by the migrations before 004) to the partitioned one, in
// place (issue 15): today's table becomes the first partition without a rebuild, while ingest goes on; nothing is
// lost, ids keep growing, and an event stored before the migration is still stored once when it comes again after.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '@logstream/shared/migrate.js';
import { storeRows } from '../processor/src/store-batch.js';
import { createTestEnv, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv('migrate_parts', { migrate: false });
  await migrate(t.pool, 3);
});
afterAll(async () => t.cleanup());

/** The store statement of the processors before 006 (an old processor still running during a rolling upgrade). */
const OLD_STORE_SQL = `
WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(7431002) AS locked),
ins AS (
  INSERT INTO logs (id, stream_id, event_id, "timestamp", received_at, level, service, message, attributes)
  SELECT nextval('logs_id_seq'), r.sid, r.eid, to_timestamp(r.ts / 1000.0), to_timestamp(r.rt / 1000.0), r.level, r.service, r.message, '{}'::jsonb
  FROM lock CROSS JOIN json_to_recordset($1::json) AS r(sid text, eid uuid, ts double precision, rt double precision, level smallint, service text, message text)
  ON CONFLICT DO NOTHING RETURNING id)
SELECT count(*)::int AS inserted FROM ins`;

const rows = (prefix: string, n: number, eids: string[] = []) =>
  JSON.stringify(Array.from({ length: n }, (_, i) => {
    const eid = randomUUID();
    eids.push(eid);
    return { sid: `0-${randomUUID()}`, eid, ts: Date.now() - 60_000, rt: Date.now(), level: 30, service: 'migrate', message: `${prefix}-${i}` };
  }));

const count = async (sql: string) => Number((await t.pool.query(sql)).rows[0].n);

describe('migration of a populated logs table to partitions', () => {
  it('attaches it as the first partition, without a rebuild, while an old processor keeps inserting', async () => {
    const eids: string[] = [];
    for (let b = 0; b < 20; b++) await t.pool.query(OLD_STORE_SQL, [rows(`before-${b}`, 1000, b === 0 ? eids : [])]);
    const rollups = await count(`SELECT sum(n) AS n FROM logs_per_minute`);
    const pkeyFile = await count(`SELECT relfilenode AS n FROM pg_class WHERE relname = 'logs_pkey'`);
    const maxBefore = await count(`SELECT max(id) AS n FROM logs`);

    // An old processor inserting all along (one batch after another), until the migration is done.
    let migrating = true;
    let during = 0;
    const ingest = (async () => {
      while (migrating) during += (await t.pool.query(OLD_STORE_SQL, [rows('during', 100)])).rows[0].inserted;
    })();
    const applied = await migrate(t.pool);
    migrating = false;
    await ingest;
    expect(applied).toEqual(expect.arrayContaining(['004_logs_legacy_id_check.sql', '005_logs_legacy_id_validate.sql', '006_logs_partitioned.sql']));
    expect(during).toBeGreaterThan(0);

    expect(await count(`SELECT count(*) AS n FROM pg_partitioned_table WHERE partrelid = 'logs'::regclass`)).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM logs WHERE message LIKE 'before-%'`)).toBe(20_000);
    expect(await count(`SELECT count(*) AS n FROM logs_legacy WHERE message LIKE 'before-%'`)).toBe(20_000);
    expect(await count(`SELECT count(*) AS n FROM logs WHERE message LIKE 'during-%'`)).toBe(during);
    // The primary key of today's table is the partition's index as it was: same file, not rebuilt.
    expect(await count(`SELECT relfilenode AS n FROM pg_class WHERE relname = 'logs_legacy_pkey'`)).toBe(pkeyFile);
    expect(await count(`SELECT sum(n) AS n FROM logs_per_minute`)).toBe(rollups + during);

    // The new statement: ids above every old one, in a partition of their own; rollups still kept by the trigger.
    const fresh: string[] = [];
    expect((await storeRows(t.pool, rows('after', 500, fresh), t.channel)).inserted).toBe(500);
    const after = (await t.pool.query(`SELECT min(id) AS lo, max(id) AS hi, count(DISTINCT tableoid) AS parts FROM logs WHERE message LIKE 'after-%'`)).rows[0];
    expect(Number(after.lo)).toBeGreaterThan(maxBefore);
    expect(Number(after.lo)).toBeGreaterThan(await count(`SELECT max(id) AS n FROM logs_legacy`));
    expect(Number(after.parts)).toBe(1);
    expect(await count(`SELECT sum(n) AS n FROM logs_per_minute`)).toBe(rollups + during + 500);

    // Events stored before the migration, delivered again after it (their batch was never acked): stored once.
    const again = JSON.stringify(eids.slice(0, 100).map((eid, i) => ({ sid: `1-${i}`, eid, ts: Date.now(), rt: Date.now(), level: 30, service: 'migrate', message: `again-${i}` })));
    expect((await storeRows(t.pool, again, t.channel)).inserted).toBe(0);

    // One cursor over both: every row once, in id order.
    const ids = (await t.pool.query<{ id: number }>(`SELECT id FROM logs ORDER BY id`)).rows.map((r) => Number(r.id));
    expect(ids.length).toBe(20_000 + during + 500);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
