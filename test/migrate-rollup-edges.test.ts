// Migration 017 (issue 16, log-volume speed): the rollups count the rows exactly at the start of their minute and
// hour. Rows stored before the migration are backfilled, rows stored or deleted after it are counted by the
// triggers; either way the counts equal the rows themselves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '@logstream/shared/migrate.js';
import { seed } from './helpers/seed.js';
import { createTestEnv, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv('migrate_edges', { migrate: false });
  await migrate(t.pool, 16);
  await t.pool.query('SELECT logs_create_partitions()');
});
afterAll(async () => t.cleanup());

const MIN = 60_000;
const HOUR = 60 * MIN;
const BASE = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
/** Rows of three hours: every 5th exactly on a minute (some of those on an hour), the rest between. */
const events = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    message: `${tag} ${i}`,
    level: [30, 40, 50][i % 3]!,
    service: ['api', 'web'][i % 2]!,
    ts: i % 5 === 0 ? BASE + ((i * 7) % 180) * MIN : BASE + ((i * 7919 + 13) % (3 * HOUR)),
  }));

/** Rollup rows with edge counts vs the same counted from logs. */
async function compare(table: 'logs_per_minute' | 'logs_per_hour', col: 'minute' | 'hour') {
  const unit = col === 'minute' ? '1 minute' : '1 hour';
  const { rows: rolled } = await t.pool.query(`SELECT ${col}::text AS b, level, service, n::int, n_at_start::int FROM ${table} WHERE n > 0 ORDER BY 1, 2, 3`);
  const { rows: truth } = await t.pool.query(
    `SELECT b::text, level, service, count(*)::int AS n, count(*) FILTER (WHERE "timestamp" = b)::int AS n_at_start
     FROM (SELECT date_bin('${unit}', "timestamp", timestamptz '2000-01-01 00:00:00+00') AS b, * FROM logs) r GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  expect(rolled).toEqual(truth);
  return truth.reduce((a, r) => a + r.n_at_start, 0);
}

describe('rollup edge counts (migration 017)', () => {
  it('backfills rows stored before it, and the triggers count inserts and deletes after it', async () => {
    await seed(t.pool, t.channel, events('before', 300));
    await migrate(t.pool);
    // Some edge rows before the migration: the backfill is tested on rows, not on zeros.
    expect(await compare('logs_per_minute', 'minute')).toBeGreaterThan(0);
    expect(await compare('logs_per_hour', 'hour')).toBeGreaterThan(0);

    await seed(t.pool, t.channel, events('after', 300));
    await t.pool.query(`DELETE FROM logs WHERE id % 4 = 0`);
    const minuteEdges = await compare('logs_per_minute', 'minute');
    const hourEdges = await compare('logs_per_hour', 'hour');
    expect(minuteEdges).toBeGreaterThan(hourEdges);
    expect(hourEdges).toBeGreaterThan(0);
  });
});
