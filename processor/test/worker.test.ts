// The processor loop against the real Redis and PostgreSQL: batching, idempotent redelivery, reclaiming a dead
// consumer's entries, poison isolation, and recovery when the stream and group vanish.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@logstream/shared/logger.js';
import { createRedis, replyToMap, workerOptions } from '@logstream/shared/redis.js';
import { parseProcessorConfig } from '../src/config.js';
import { ensureGroup } from '../src/consumer-group.js';
import { processorMetrics } from '../src/metrics.js';
import { readNew } from '../src/read-batch.js';
import { Worker } from '../src/worker.js';
import { createTestEnv, waitFor, type TestEnv } from '../../test/helpers/test-env.js';

let t: TestEnv;
const workers: { worker: Worker; close: () => Promise<void> }[] = [];

beforeAll(async () => {
  t = await createTestEnv('worker');
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});
afterAll(async () => t.cleanup());

function startWorker(consumer: string, overrides: Record<string, string> = {}) {
  const cfg = parseProcessorConfig({ ...t.env, BLOCK_MS: '100', LOG_LEVEL: 'silent', ...overrides });
  const reader = createRedis(cfg, workerOptions);
  const redis = createRedis(cfg, workerOptions);
  const metrics = processorMetrics();
  const worker = new Worker({ cfg, consumer, reader, redis, db: t.pool, log: createLogger('test', 'silent'), metrics });
  worker.start();
  const handle = {
    worker,
    metrics,
    close: async () => {
      await worker.stop();
      reader.disconnect();
      redis.disconnect();
    },
  };
  workers.push(handle);
  return handle;
}

const event = (message: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ eid: randomUUID(), message, level: 30, service: 'worker-test', ts: Date.now(), rt: Date.now(), attributes: {}, ...extra });

async function xadd(events: string[]): Promise<string[]> {
  const p = t.redis.pipeline();
  for (const e of events) p.xadd(t.stream, '*', 'e', e);
  return ((await p.exec()) ?? []).map(([, id]) => id as string);
}

const count = async (where = 'true', values: unknown[] = []) =>
  Number((await t.pool.query(`SELECT count(*) AS n FROM logs WHERE ${where}`, values)).rows[0].n);

describe('processor worker', () => {
  it('stores entries in batches of BATCH_SIZE with one NOTIFY per batch', async () => {
    await ensureGroup(t.redis, t.stream, t.group);
    await xadd(Array.from({ length: 2500 }, (_, i) => event(`batch-${i}`)));
    const listener = new pg.Client({ host: t.env.DB_HOST, port: Number(t.env.DB_PORT), user: t.env.POSTGRES_USER, database: t.database });
    await listener.connect();
    const notifications: string[] = [];
    listener.on('notification', (n) => notifications.push(n.payload!));
    await listener.query(`LISTEN ${t.channel}`);

    startWorker('batcher', { BATCH_SIZE: '1000' });
    await waitFor('2500 rows', async () => (await count(`message LIKE 'batch-%'`)) === 2500);
    await new Promise((r) => setTimeout(r, 200));
    await listener.end();
    // 2500 entries waiting → reads of 1000, 1000, 500: three statements, three notifications.
    expect(notifications.length).toBe(3);
    const maxId = Number((await t.pool.query('SELECT max(id) AS m FROM logs')).rows[0].m);
    expect(Number(notifications[2])).toBe(maxId);
    const pending = (await t.redis.xpending(t.stream, t.group)) as [number];
    expect(pending[0]).toBe(0);
  });

  it('never stores a redelivered entry or a resent event twice', async () => {
    const w = startWorker('redeliver');
    const eid = randomUUID();
    const ids = await xadd([event('dup-a'), event('dup-b', { eid }), event('dup-b-resent', { eid })]);
    await waitFor('entries acked', async () => ((await t.redis.xpending(t.stream, t.group)) as [number])[0] === 0 && (await count(`message LIKE 'dup-%'`)) >= 2);
    // The same entries delivered again (e.g. after a crash between commit and XACK): no new rows.
    const entries = (await t.redis.xrange(t.stream, ids[0]!, ids[2]!)).map(([id, fields]) => ({ id, fields }));
    await w.worker.handle(entries);
    await w.worker.handle(entries);
    expect(await count(`message LIKE 'dup-%'`)).toBe(2);
    expect(await count(`message = 'dup-b-resent'`)).toBe(0);
  });

  it('reclaims entries a dead consumer left pending (XAUTOCLAIM)', async () => {
    await ensureGroup(t.redis, t.stream, t.group);
    await xadd(Array.from({ length: 30 }, (_, i) => event(`orphan-${i}`)));
    // A consumer reads them and dies without acking.
    const taken = await readNew(t.redis, t.stream, t.group, 'dead-consumer', 100, 100);
    expect(taken.length).toBe(30);
    expect(await count(`message LIKE 'orphan-%'`)).toBe(0);

    const w = startWorker('rescuer', { CLAIM_IDLE_MS: '300', CLAIM_INTERVAL_MS: '100' });
    await waitFor('orphans stored', async () => (await count(`message LIKE 'orphan-%'`)) === 30);
    await waitFor('nothing pending', async () => ((await t.redis.xpending(t.stream, t.group)) as [number])[0] === 0);
    expect((await w.metrics.reclaimed.get()).values[0]!.value).toBe(30);
  });

  it('isolates an entry PostgreSQL rejects, stores the rest of its batch, and dead-letters it', async () => {
    await ensureGroup(t.redis, t.stream, t.group);
    const events = Array.from({ length: 9 }, (_, i) => event(`mixed-${i}`));
    // Decodable, but PostgreSQL refuses a NUL character in text.
    events.splice(4, 0, event('poison\u0000'));
    const ids = await xadd(events);
    // An entry written by another tool with an invalid level never reaches PostgreSQL: straight to the DLQ.
    const foreign = await t.redis.xadd(t.stream, '*', 'message', 'foreign', 'level', 'loud');
    startWorker('poison', { MAX_DELIVERIES: '1' });
    await waitFor('good rows stored', async () => (await count(`message LIKE 'mixed-%'`)) === 9);
    const dlq = await waitFor('two dead letters', async () => {
      const d = await t.redis.xrange(`${t.stream}:dlq`, '-', '+');
      return d.length === 2 ? d : undefined;
    });
    const letters = dlq.map(([, f]) => Object.fromEntries(replyToMap(f)) as Record<string, string>);
    expect(letters.map((l) => l.id).sort()).toEqual([ids[4], foreign].sort());
    expect(letters.find((l) => l.id === ids[4])!.reason).toMatch(/rejected by PostgreSQL/);
    expect(letters.find((l) => l.id === foreign)!.reason).toMatch(/undecodable: level/);
    await waitFor('nothing pending', async () => ((await t.redis.xpending(t.stream, t.group)) as [number])[0] === 0);
    expect(await count(`message LIKE 'poison%'`)).toBe(0);
  });

  it('dead-letters an entry in the producer format that can never decode (an unknown level) at once, not after MAX_DELIVERIES', async () => {
    await ensureGroup(t.redis, t.stream, t.group);
    const [bad] = await xadd([event('unknown-level', { level: 'verbose' })]);
    const [good] = await xadd([event('beside-it')]);
    startWorker('undecodable', { MAX_DELIVERIES: '5' });
    await waitFor('the good row stored', async () => (await count(`message = 'beside-it'`)) === 1);
    const letter = await waitFor('its dead letter', async () => {
      const d = await t.redis.xrange(`${t.stream}:dlq`, '-', '+');
      return d.map(([, f]) => Object.fromEntries(replyToMap(f)) as Record<string, string>).find((l) => l.id === bad);
    });
    expect(letter.reason).toMatch(/^undecodable: level: /);
    expect(letter.deliveries).toBe('1');
    expect(good).toBeDefined();
    await waitFor('nothing pending', async () => ((await t.redis.xpending(t.stream, t.group)) as [number])[0] === 0);
    expect(await count(`message = 'unknown-level'`)).toBe(0);
  });

  it('accepts plain entries written by other tools (XADD logs * message … level …)', async () => {
    startWorker('plain');
    await t.redis.xadd(t.stream, '*', 'message', 'from redis-cli', 'level', 'error', 'service', 'cli');
    await waitFor('plain entry stored', async () => (await count(`message = 'from redis-cli' AND level = 50 AND service = 'cli'`)) === 1);
  });

  it('recreates the consumer group when Redis lost the stream', async () => {
    startWorker('survivor');
    await xadd([event('before-loss')]);
    await waitFor('first stored', async () => (await count(`message = 'before-loss'`)) === 1);
    await t.redis.del(t.stream); // what a Redis restart without persistence looks like
    await new Promise((r) => setTimeout(r, 300));
    await xadd([event('after-loss-1'), event('after-loss-2')]);
    await waitFor('stored after the loss', async () => (await count(`message LIKE 'after-loss-%'`)) === 2, 15_000);
  });
});

describe('consumers of dead processors', () => {
  it('are removed when they hold nothing pending and have been idle long enough; others stay', async () => {
    const { retireIdleConsumers } = await import('../src/retire-consumers.js');
    await ensureGroup(t.redis, t.stream, t.group);
    await xadd([event('for-the-holder')]);
    // 'holder' reads an entry and dies with it pending; 'idle' reads nothing and dies.
    await readNew(t.redis, t.stream, t.group, 'holder', 1, 100);
    await t.redis.xgroup('CREATECONSUMER', t.stream, t.group, 'idle');
    await new Promise((r) => setTimeout(r, 150));
    const names = async () => ((await t.redis.xinfo('CONSUMERS', t.stream, t.group)) as unknown[][]).map((c) => String(c[1]));
    expect(await names()).toEqual(expect.arrayContaining(['holder', 'idle']));
    expect(await retireIdleConsumers(t.redis, t.stream, t.group, 'self', 60_000)).toEqual([]);
    const retired = await retireIdleConsumers(t.redis, t.stream, t.group, 'idle-is-not-self', 100);
    expect(retired).toContain('idle');
    expect(retired).not.toContain('holder');
    expect(await names()).not.toContain('idle');
    expect(await names()).toContain('holder');
  });
});
