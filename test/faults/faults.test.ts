// Faults under load (issue 4): every event the producer answered 202 for is stored exactly once through a processor
// SIGKILLed mid-batch (restarted, and never restarted), PostgreSQL stopped for 10 s, and Redis SIGKILLed and
// restarted from its append-only file. Runs against a private Redis and a private PostgreSQL cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { startService, stopAll, waitUntilReady, type Service } from '../helpers/services.js';
import { createTestEnv, sleep, waitFor, type TestEnv } from '../helpers/test-env.js';
import { connectLive } from '../helpers/live-client.js';
import { startLoad, verifyStored, type Verdict } from './load.js';

let pg: PrivatePostgres;
let redis: PrivateRedis;
let t: TestEnv;
let env: Record<string, string>;
let producer: Service;
let gateway: Service;
let processors: Service[] = [];
let consumerSeq = 0;

const startProcessor = (name = `p${++consumerSeq}`) => startService('processor', { ...env, CONSUMER_NAME: name });

function report(fault: string, v: Verdict, extra: Record<string, unknown> = {}) {
  console.log(`[faults] ${fault}: ${JSON.stringify({ ...v, ...extra })}`);
}

function expectExactlyOnce(v: Verdict) {
  expect(v.accepted).toBeGreaterThan(0);
  expect(v.lost).toBe(0);
  expect(v.duplicated).toBe(0);
  expect(v.stored).toBe(v.accepted + v.storedUncertain);
  expect(v.otherEventId).toBe(0);
}

async function pendingOf(consumer: string): Promise<string[]> {
  const rows = (await t.redis.xpending(t.stream, t.group, '-', '+', 10_000, consumer)) as unknown[][];
  return rows.map((r) => String(r[0]));
}

const consumerOf = (p: Service) => JSON.parse(p.output.find((l) => l.includes('processor started'))!).consumer as string;

/** Hold an EXCLUSIVE lock on logs (reads pass, inserts wait) until every processor waits with a batch in hand. */
async function blockInserts(waiters: number): Promise<() => Promise<void>> {
  const blocker = await t.pool.connect();
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE logs IN EXCLUSIVE MODE');
  await waitFor(`${waiters} inserts waiting on the lock`, async () => {
    const { rows } = await t.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
    return rows[0]!.n >= waiters;
  });
  return async () => {
    await blocker.query('COMMIT');
    blocker.release();
  };
}

/**
 * Kill `victim` after its insert committed and before its XACK reached Redis: inserts are held by a lock until it
 * holds a batch, Redis writes are paused (CLIENT PAUSE WRITE), the lock is released so the insert commits, the XACK
 * then waits inside Redis and dies with the connection. Returns how many of its pending entries have rows.
 */
async function killBetweenCommitAndAck(victim: Service): Promise<{ pending: number; stored: number }> {
  const release = await blockInserts(processors.length + 1);
  await t.redis.client('PAUSE', 3000, 'WRITE');
  await release();
  await sleep(300);
  await victim.kill();
  await sleep(100);
  await t.redis.client('UNPAUSE');
  const pending = await pendingOf(consumerOf(victim));
  if (pending.length === 0) return { pending: 0, stored: 0 };
  const { rows } = await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM logs WHERE stream_id = ANY($1)', [pending]);
  return { pending: pending.length, stored: rows[0]!.n };
}

async function get(url: string): Promise<{ status: number; ms: number }> {
  const t0 = Date.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return { status: res.status, ms: Date.now() - t0 };
  } catch {
    return { status: 0, ms: Date.now() - t0 };
  }
}

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  t = await createTestEnv('faults', { pgPort: pg.port, redisPort: redis.port });
  // Small batches keep the processors busy in the middle of a batch most of the time, so kills land there.
  env = { ...t.env, CLAIM_IDLE_MS: '1000', CLAIM_INTERVAL_MS: '500', BLOCK_MS: '200', BATCH_SIZE: '20', LOG_LEVEL: 'info' };
  [producer, gateway, ...processors] = await Promise.all([startService('producer', env), startService('gateway', env), startProcessor(), startProcessor()]);
  await Promise.all([producer, gateway, ...processors].map((s) => waitUntilReady(s)));
});

afterAll(async () => {
  await stopAll();
  await t?.cleanup().catch(() => {});
  await Promise.all([pg?.destroy(), redis?.destroy()]);
});

describe('fault tolerance under load', () => {
  it('a processor SIGKILLed mid-batch (during its insert, and between commit and XACK), then restarted', async () => {
    const load = startLoad(producer.url, 'kill-restart');
    await load.waitAccepted(300);

    // 1. Killed while its INSERT waits on a lock held by the test (before its insert ran).
    const victim1 = processors.shift()!;
    const release = await blockInserts(processors.length + 1);
    await victim1.kill();
    await release();
    const pendingBeforeInsert = (await pendingOf(consumerOf(victim1))).length;
    processors.push(await startProcessor());
    await load.waitAccepted(300);

    // 2. Killed after its commit, before its XACK.
    const victim2 = processors.shift()!;
    const between = await killBetweenCommitAndAck(victim2);
    processors.push(await startProcessor());
    await load.waitAccepted(300);
    const stats = await load.stop();
    const v = await verifyStored(t.pool, t.redis, t.stream, t.group, 'kill-restart', stats);
    report('processor SIGKILL + restart', v, { pendingBeforeInsert, committedButUnacked: between.stored, statuses: Object.fromEntries(stats.statuses) });
    expectExactlyOnce(v);
    expect(pendingBeforeInsert).toBeGreaterThan(0);
    expect(between.pending).toBeGreaterThan(0);
    expect(between.stored).toBe(between.pending);
  });

  it('a processor SIGKILLed and never restarted: another reclaims its pending entries', async () => {
    const load = startLoad(producer.url, 'kill-gone');
    await load.waitAccepted(300);
    const victim = processors.shift()!;
    const name = consumerOf(victim);
    const { pending: pendingAtDeath } = await killBetweenCommitAndAck(victim);
    await load.waitAccepted(300);
    const stats = await load.stop();
    const v = await verifyStored(t.pool, t.redis, t.stream, t.group, 'kill-gone', stats);
    report('processor SIGKILL, not restarted', v, { pendingAtDeath, processorsLeft: processors.length });
    expectExactlyOnce(v);
    expect(pendingAtDeath).toBeGreaterThan(0);
    expect(await pendingOf(name)).toEqual([]);
    processors.push(await startProcessor());
  });

  it('PostgreSQL stopped for 10 s: processors stay up and not ready, the producer keeps accepting, nothing lost', async () => {
    // Idle processors notice too (their /ready asks PostgreSQL, not only the outcome of the last insert).
    await pg.stop();
    await waitFor('idle processors not ready', async () => (await Promise.all(processors.map((p) => get(`${p.url}/ready`)))).every((r) => r.status === 503), 5_000);
    await pg.start();
    await waitFor('processors ready', async () => (await Promise.all(processors.map((p) => get(`${p.url}/ready`)))).every((r) => r.status === 200), 10_000);

    const load = startLoad(producer.url, 'pg-down');
    await load.waitAccepted(300);
    await pg.stop();
    const acceptedAtStop = load.accepted.size;
    const deadline = Date.now() + 10_000;
    const readiness: number[] = [];
    const gatewayReadiness: number[] = [];
    while (Date.now() < deadline) {
      readiness.push(...(await Promise.all(processors.map((p) => get(`${p.url}/ready`)))).map((r) => r.status));
      gatewayReadiness.push((await get(`${gateway.url}/ready`)).status);
      await sleep(500);
    }
    const acceptedWhileDown = load.accepted.size - acceptedAtStop;
    // Readers get a quick 503, not a hung request (CONTRACT §7).
    const logsWhileDown = await get(`${gateway.url}/logs?limit=1`);
    const notReadyAtEnd = (await Promise.all(processors.map((p) => get(`${p.url}/ready`)))).map((r) => r.status);
    await pg.start();
    for (const p of processors) expect(p.proc.exitCode).toBeNull();
    expect(gateway.proc.exitCode).toBeNull();
    await waitFor('processors ready again', async () => (await Promise.all(processors.map((p) => get(`${p.url}/ready`)))).every((r) => r.status === 200), 20_000);
    await waitFor('gateway ready again', async () => (await get(`${gateway.url}/ready`)).status === 200, 20_000);
    await load.waitAccepted(200);
    const stats = await load.stop();
    const v = await verifyStored(t.pool, t.redis, t.stream, t.group, 'pg-down', stats);
    report('PostgreSQL stopped 10 s', v, { acceptedWhileDown, logsWhileDown, notReadyAtEnd, statuses: Object.fromEntries(stats.statuses) });
    expectExactlyOnce(v);
    expect(acceptedWhileDown).toBeGreaterThan(100);
    expect(notReadyAtEnd.every((s) => s === 503)).toBe(true);
    expect(gatewayReadiness.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(logsWhileDown.status).toBe(503);
    expect(logsWhileDown.ms).toBeLessThan(3_500);
    // The gateway's pool and LISTEN came back: /logs answers again.
    expect((await get(`${gateway.url}/logs?limit=1`)).status).toBe(200);
  });

  it('Redis SIGKILLed and restarted from its AOF: 503 fast while down, then everything resumes, nothing lost or twice', async () => {
    const live = await connectLive(gateway.url, 'service=faults');
    const load = startLoad(producer.url, 'redis-kill');
    await load.waitAccepted(300);
    await redis.kill();
    const whileDown: { status: number; ms: number }[] = [];
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      whileDown.push(await get(`${producer.url}/send?message=while-redis-down&service=faults`));
      await sleep(100);
    }
    await redis.start();
    await waitFor('producer accepting again', async () => (await get(`${producer.url}/ready`)).status === 200, 20_000);
    const liveBefore = live.ids.length;
    await load.waitAccepted(300, 30_000);
    const stats = await load.stop();
    const v = await verifyStored(t.pool, t.redis, t.stream, t.group, 'redis-kill', stats);
    const groups = (await t.redis.xinfo('GROUPS', t.stream)) as unknown[][];
    await waitFor('live rows after the restart', () => live.ids.length > liveBefore, 15_000);
    await live.close();
    report('Redis SIGKILL + restart (AOF)', v, {
      whileDown: whileDown.length,
      slowestWhileDownMs: Math.max(...whileDown.map((r) => r.ms)),
      statuses: Object.fromEntries(stats.statuses),
    });
    expectExactlyOnce(v);
    expect(whileDown.length).toBeGreaterThan(3);
    for (const r of whileDown) {
      expect(r.status).toBe(503);
      expect(r.ms).toBeLessThan(3_000);
    }
    expect(groups.length).toBe(1);
    for (const p of processors) expect(p.proc.exitCode).toBeNull();
  });

  it('an XADD resent by the client library after a reconnect (same event id, new stream id) is stored once', async () => {
    // What ioredis may do with an unanswered batch command (the xadd-batch script) when the connection comes back:
    // the same JSON, added again.
    const event = JSON.stringify({ eid: '0b6c2f1e-5d4a-4c3b-9a8f-7e6d5c4b3a21', message: 'resent-once', level: 30, service: 'faults', ts: Date.now(), rt: Date.now(), attributes: {} });
    const first = await t.redis.xadd(t.stream, '*', 'e', event);
    const second = await t.redis.xadd(t.stream, '*', 'e', event);
    expect(first).not.toBe(second);
    await waitFor('both entries acked', async () => Number(((await t.redis.xpending(t.stream, t.group)) as unknown[])[0]) === 0 && (await t.pool.query("SELECT 1 FROM logs WHERE message = 'resent-once'")).rowCount! > 0);
    const { rows } = await t.pool.query<{ stream_id: string }>("SELECT stream_id FROM logs WHERE message = 'resent-once'");
    // Exactly one row; which entry wins depends on which processor commits first.
    expect(rows.length).toBe(1);
    expect([first, second]).toContain(rows[0]!.stream_id);
  });
});
