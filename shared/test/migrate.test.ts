import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../src/db.js';
import { listMigrations, migrate } from '../src/migrate.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/test-env.js';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv('migrate', { migrate: false });
});
afterAll(async () => t.cleanup());

describe('migrations', () => {
  it('are numbered .sql files applied once, even when five services start at the same time', async () => {
    const files = listMigrations();
    expect(files.length).toBeGreaterThan(0);
    const cfg = { DB_HOST: t.env.DB_HOST!, DB_PORT: Number(t.env.DB_PORT), POSTGRES_USER: t.env.POSTGRES_USER!, POSTGRES_DB: t.database, POSTGRES_PASSWORD: undefined, DATABASE_URL: undefined };
    const pools = Array.from({ length: 5 }, () => createPool(cfg, { max: 1 }));
    const results = await Promise.all(pools.map((p) => migrate(p)));
    await Promise.all(pools.map((p) => p.end()));
    // Exactly one of the concurrent runs applied each file.
    expect(results.flat().sort()).toEqual(files.map((f) => f.name).sort());
    const { rows } = await t.pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(files.map((f) => f.version));
    expect(await migrate(t.pool)).toEqual([]);
    const cols = await t.pool.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'logs' ORDER BY ordinal_position`);
    expect(cols.rows.map((r) => r.column_name)).toEqual(expect.arrayContaining(['id', 'timestamp', 'received_at', 'level', 'service', 'message', 'attributes', 'stream_id']));
  });
});
