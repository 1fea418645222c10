// `npm start` (CONTRACT §1): creates the database when missing, runs producer, PROCESSORS processors and gateway on
// the configured ports, prints the URLs, and stops everything on Ctrl-C; with Redis or PostgreSQL unreachable it
// says so in one line and exits.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { PG_HOST, PG_PORT, PG_USER, REDIS_HOST, REDIS_PORT, waitFor } from './helpers/test-env.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const id = randomBytes(4).toString('hex');
const database = `ls_test_start_${id}`;

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c.toString()));
  child.stderr.on('data', (c: Buffer) => out.push(c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out, exited };
}

afterAll(async () => {
  const redis = new Redis({ host: REDIS_HOST, port: REDIS_PORT });
  await redis.del(`test:start:${id}`, `test:start:${id}:dlq`);
  redis.disconnect();
  const admin = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await admin.end();
});

describe('npm start', () => {
  it('runs the whole stack on the configured ports, creating the database, and stops it on SIGINT', async () => {
    const [producerPort, gatewayPort, processorPort] = [await freePort(), await freePort(), await freePort()];
    const stack = start({
      DB_HOST: PG_HOST, DB_PORT: String(PG_PORT), POSTGRES_USER: PG_USER, POSTGRES_DB: database,
      REDIS_HOST, REDIS_PORT: String(REDIS_PORT), REDIS_STREAM: `test:start:${id}`, REDIS_GROUP: `group-${id}`, NOTIFY_CHANNEL: `logs_${id}`,
      PRODUCER_PORT: String(producerPort), GATEWAY_PORT: String(gatewayPort), PROCESSOR_PORT: String(processorPort), PROCESSORS: '2',
      BLOCK_MS: '200', DATABASE_URL: '', REDIS_URL: '',
    });
    try {
      await waitFor('the URLs', () => stack.out.join('').includes(`http://localhost:${gatewayPort}/ui`), 30_000);
      const ready = async (port: number) => (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.status === 200;
      await waitFor('every service ready', async () => (await ready(producerPort)) && (await ready(gatewayPort)) && (await ready(processorPort)) && (await ready(processorPort + 1)), 30_000);

      expect((await fetch(`http://127.0.0.1:${producerPort}/send?message=via-npm-start`)).status).toBe(202);
      await waitFor('the event through the stack', async () => {
        const body = (await (await fetch(`http://127.0.0.1:${gatewayPort}/logs?q=via-npm-start`)).json()) as { items: unknown[] };
        return body.items.length === 1;
      });
    } finally {
      stack.child.kill('SIGINT');
    }
    expect(await stack.exited).toBe(0);
    // Every child is gone: nothing answers on the ports any more.
    for (const port of [producerPort, gatewayPort, processorPort, processorPort + 1]) {
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    }
  });

  it('says in one line how to start Redis and PostgreSQL when they are unreachable', async () => {
    const [deadRedis, deadPg] = [await freePort(), await freePort()];
    const stack = start({ REDIS_HOST: '127.0.0.1', REDIS_PORT: String(deadRedis), DB_HOST: '127.0.0.1', DB_PORT: String(deadPg), DATABASE_URL: '', REDIS_URL: '' });
    expect(await stack.exited).toBe(1);
    const lines = stack.out.join('').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`cannot reach Redis at 127.0.0.1:${deadRedis} or PostgreSQL at 127.0.0.1:${deadPg}`);
    expect(lines[0]).toMatch(/Start them/);
  });
});
