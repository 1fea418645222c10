// The connection objects (shared/src/redis.ts, db.ts) against a real Redis that is killed and restarted and the
// real PostgreSQL: each state change is logged once however many retries an outage takes, ready() follows the
// connection, close() can be called twice, and an error that is not about the connection is reported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { PostgresPool } from '../src/db.js';
import { RedisConnection, workerOptions } from '../src/redis.js';
import { startPrivateRedis, type PrivateRedis } from '../../test/helpers/private-redis.js';
import { PG_HOST, PG_PORT, PG_USER } from '../../test/helpers/test-env.js';

interface Line {
  level: number;
  msg: string;
  connection?: string;
}

function captureLog() {
  const lines: Line[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const count = (msg: string) => lines.filter((l) => l.msg.endsWith(msg)).length;
  return { log, lines, count };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('RedisConnection', () => {
  let server: PrivateRedis;
  beforeAll(async () => {
    server = await startPrivateRedis({ persistence: false });
  });
  afterAll(async () => server.destroy());

  const cfg = () => ({ REDIS_URL: undefined, REDIS_HOST: '127.0.0.1', REDIS_PORT: server.port, REDIS_PASSWORD: undefined });

  it('logs connecting, ready, one lost and one reconnected over a kill and a restart, and closes twice', async () => {
    const { log, count } = captureLog();
    const c = new RedisConnection(cfg(), workerOptions, log, 'redis test');
    expect(c.state).toBe('connecting');
    await waitFor('ready', () => c.ready());
    expect(c.state).toBe('ready');
    expect(await c.client.ping()).toBe('PONG');

    await server.kill();
    await waitFor('reconnecting', () => c.state === 'reconnecting');
    expect(c.ready()).toBe(false);
    // Several reconnect attempts (50 ms doubling) fail meanwhile: still one line for the outage.
    await new Promise((r) => setTimeout(r, 1_500));
    await server.start();
    await waitFor('ready again', () => c.ready());
    expect(c.state).toBe('ready');

    await Promise.all([c.close(), c.close()]);
    await c.close();
    expect(c.state).toBe('closed');
    expect(c.client.status).toBe('end');
    expect([count(': connecting'), count(': ready'), count(': connection lost; reconnecting'), count(': reconnected'), count(': closed')]).toEqual([1, 1, 1, 1, 1]);
  });

  it('reports an error that is not about the connection (a wrong password) once, however often it reconnects', async () => {
    const admin = new Redis({ port: server.port });
    const password = randomUUID();
    await admin.config('SET', 'requirepass', password);
    try {
      const { log, lines } = captureLog();
      const c = new RedisConnection({ ...cfg(), REDIS_PASSWORD: 'not-the-password' }, workerOptions, log, 'redis wrong password');
      await waitFor('an error line', () => lines.some((l) => l.level === 50));
      // ioredis keeps retrying with the same password; give it a few tries.
      await new Promise((r) => setTimeout(r, 1_000));
      const errors = lines.filter((l) => l.level === 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.msg).toMatch(/WRONGPASS|invalid password/i);
      expect(c.ready()).toBe(false);
      await c.close();
      await c.close();
    } finally {
      await admin.config('SET', 'requirepass', '').catch(() => {});
      admin.disconnect();
    }
  });
});

describe('PostgresPool', () => {
  const cfg = { DATABASE_URL: undefined, DB_HOST: PG_HOST, DB_PORT: PG_PORT, POSTGRES_USER: PG_USER, POSTGRES_PASSWORD: undefined, POSTGRES_DB: 'postgres' };

  it('is ready once a query runs, notices a terminated connection once, reconnects, and closes twice', async () => {
    const { log, count } = captureLog();
    const app = `ls-test-${randomUUID().slice(0, 8)}`;
    const p = new PostgresPool(cfg, { max: 2, application_name: app }, log, 'postgres test');
    expect(p.state).toBe('connecting');
    expect(await p.ready()).toBe(true);
    expect(p.state).toBe('ready');

    // An idle client of the pool is terminated by the server (57P01): the pool's error event says reconnecting.
    const admin = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app]);
    } finally {
      await admin.end();
    }
    await waitFor('reconnecting', () => p.state === 'reconnecting');
    expect(await p.ready()).toBe(true);
    expect(p.state).toBe('ready');

    await Promise.all([p.close(), p.close()]);
    await p.close();
    expect(p.state).toBe('closed');
    expect([count(': connecting'), count(': ready'), count(': connection lost; reconnecting'), count(': reconnected'), count(': closed')]).toEqual([1, 1, 1, 1, 1]);
  });

  it('answers not ready for a database it cannot use, and reports why once', async () => {
    const { log, lines } = captureLog();
    const p = new PostgresPool({ ...cfg, POSTGRES_DB: `ls_missing_${randomUUID().slice(0, 8)}` }, { max: 1 }, log, 'postgres missing');
    expect(await p.ready()).toBe(false);
    expect(await p.ready()).toBe(false);
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/does not exist/);
    await p.close();
  });
});
