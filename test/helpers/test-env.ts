// Isolation for tests (STYLE §8): every test file gets its own database, stream, group and NOTIFY channel, so
// tests never collide with each other or with a running stack, and cleanup removes them.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createPool, ensureDatabase, quoteIdent } from '@logstream/shared/db.js';
import { migrate } from '@logstream/shared/migrate.js';

export const PG_HOST = process.env.TEST_DB_HOST ?? '127.0.0.1';
export const PG_PORT = Number(process.env.TEST_DB_PORT ?? 5432);
export const PG_USER = process.env.TEST_DB_USER ?? 'postgres';
export const REDIS_HOST = process.env.TEST_REDIS_HOST ?? '127.0.0.1';
export const REDIS_PORT = Number(process.env.TEST_REDIS_PORT ?? 6379);

export interface TestEnv {
  /** Environment for services started against this test's resources. */
  env: Record<string, string>;
  database: string;
  stream: string;
  group: string;
  channel: string;
  pool: pg.Pool;
  redis: Redis;
  cleanup(): Promise<void>;
}

export interface TestEnvOptions {
  pgPort?: number;
  redisPort?: number;
  /** Skip migrations (to test them). */
  migrate?: boolean;
  /**
   * Create the partitions of logs for now and the next day after migrating (default), as a processor's first
   * maintenance pass does: tests that store rows inside their own transactions need them to exist already.
   */
  partitions?: boolean;
}

export async function createTestEnv(prefix: string, opts: TestEnvOptions = {}): Promise<TestEnv> {
  const id = randomBytes(4).toString('hex');
  const database = `ls_test_${prefix.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${id}`;
  const pgPort = opts.pgPort ?? PG_PORT;
  const redisPort = opts.redisPort ?? REDIS_PORT;
  const env: Record<string, string> = {
    DB_HOST: PG_HOST,
    DB_PORT: String(pgPort),
    POSTGRES_USER: PG_USER,
    POSTGRES_DB: database,
    REDIS_HOST,
    REDIS_PORT: String(redisPort),
    REDIS_STREAM: `test:${prefix}:${id}`,
    REDIS_GROUP: `group-${id}`,
    NOTIFY_CHANNEL: `logs_${id}`,
    LOG_LEVEL: 'info',
    DATABASE_URL: '',
    REDIS_URL: '',
  };
  const cfg = { DB_HOST: PG_HOST, DB_PORT: pgPort, POSTGRES_USER: PG_USER, POSTGRES_DB: database, POSTGRES_PASSWORD: undefined, DATABASE_URL: undefined };
  await ensureDatabase(cfg);
  const pool = createPool(cfg, { max: 5 });
  if (opts.migrate !== false) await migrate(pool);
  if (opts.migrate !== false && opts.partitions !== false) await pool.query('SELECT logs_create_partitions()');
  const redis = new Redis({ host: REDIS_HOST, port: redisPort, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  return {
    env,
    database,
    stream: env.REDIS_STREAM!,
    group: env.REDIS_GROUP!,
    channel: env.NOTIFY_CHANNEL!,
    pool,
    redis,
    async cleanup() {
      await redis.del(env.REDIS_STREAM!, `${env.REDIS_STREAM}:dlq`, `${env.REDIS_STREAM}:identity`).catch(() => {});
      redis.disconnect();
      // Not awaited first: pool.end() waits for a query still running (Ctrl-C during the bench's index build);
      // DROP … WITH (FORCE) ends it.
      const poolEnded = pool.end().catch(() => {});
      const admin = new pg.Client({ host: PG_HOST, port: pgPort, user: PG_USER, database: 'postgres' });
      admin.on('error', () => {});
      try {
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
      } catch {
        // A test that stopped its private PostgreSQL has nothing to drop.
      } finally {
        await admin.end().catch(() => {});
      }
      await poolEnded;
    },
  };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
