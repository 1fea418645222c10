// What an error answer promises about a batch (issue 11 point 1), against a real producer and a private Redis that
// is frozen (SIGSTOP: connections stay open, commands get no reply). A batch refused up front (in-flight cap, Redis
// down) gets 503 `unavailable` and is never stored; a batch sent and not answered gets 503 `outcome_unknown`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../test/helpers/private-redis.js';
import { startService, stopAll, waitUntilReady, type Service } from '../../test/helpers/services.js';
import { createTestEnv, sleep, waitFor, type TestEnv } from '../../test/helpers/test-env.js';

let redis: PrivateRedis;
let t: TestEnv;

beforeAll(async () => {
  redis = await startPrivateRedis();
  t = await createTestEnv('outcome', { redisPort: redis.port });
});
afterAll(async () => {
  redis.resume();
  await stopAll();
  await t.cleanup();
  await redis.destroy();
});

const post = (producer: Service, events: unknown[]) =>
  fetch(`${producer.url}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events), signal: AbortSignal.timeout(30_000) });

async function inFlightBytes(producer: Service): Promise<number> {
  const text = await (await fetch(`${producer.url}/metrics`)).text();
  return Number(/^logstream_redis_inflight_bytes(?:{[^}]*})? (\S+)$/m.exec(text)?.[1] ?? NaN);
}

async function storedMessages(prefix: string): Promise<string[]> {
  const entries = (await t.redis.xrange(t.stream, '-', '+')) as [string, string[]][];
  return entries.map(([, f]) => JSON.parse(f[1]!).message as string).filter((m) => m.startsWith(prefix));
}

describe('error answers and what was stored', () => {
  it('refuses a batch over the in-flight cap before sending it, and answers the one in flight from Redis', async () => {
    const producer = await startService('producer', { ...t.env, MAX_INFLIGHT_BYTES: String(1024 * 1024), REDIS_REPLY_TIMEOUT_MS: '60000' });
    await waitUntilReady(producer);
    redis.pause();
    try {
      const first = post(producer, [{ message: 'cap-first' }]);
      await waitFor('the first batch in flight', async () => (await inFlightBytes(producer)) > 0);
      const big = Array.from({ length: 2000 }, (_, i) => ({ message: `cap-refused-${i}`, attributes: { pad: 'x'.repeat(600) } }));
      const refused = await post(producer, big);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      const body = (await refused.json()) as { error: string; message: string };
      expect(body.error).toBe('unavailable');
      expect(body.message).toMatch(/MAX_INFLIGHT_BYTES.*nothing was stored/);
      redis.resume();
      expect((await first).status).toBe(202);
    } finally {
      redis.resume();
    }
    // The refused batch never reached Redis.
    expect(await storedMessages('cap-')).toEqual(['cap-first']);
    await producer.stop();
  });

  it('answers outcome_unknown when Redis does not reply, then refuses up front until Redis is back', async () => {
    const producer = await startService('producer', { ...t.env, REDIS_REPLY_TIMEOUT_MS: '500' });
    await waitUntilReady(producer);
    redis.pause();
    try {
      const res = await post(producer, [{ message: 'unknown-1' }]);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe('outcome_unknown');
      expect(body.message).toMatch(/may or may not be stored.*Idempotency-Key/);
      // The connection was reset: the next batch is not sent at all while Redis is frozen.
      await waitFor('the producer not ready', async () => (await fetch(`${producer.url}/ready`)).status === 503);
      const next = await post(producer, [{ message: 'unknown-refused' }]);
      expect(next.status).toBe(503);
      expect(((await next.json()) as { error: string }).error).toBe('unavailable');
    } finally {
      redis.resume();
    }
    await waitUntilReady(producer);
    expect((await post(producer, [{ message: 'unknown-after' }])).status).toBe(202);
    await sleep(100);
    const stored = await storedMessages('unknown-');
    // "Unknown" is honest: the frozen Redis may have run the batch once it woke; the refused one never reached it.
    expect(stored.filter((m) => m === 'unknown-1').length).toBeLessThanOrEqual(1);
    expect(stored).not.toContain('unknown-refused');
    expect(stored).toContain('unknown-after');
    await producer.stop();
  });
});
