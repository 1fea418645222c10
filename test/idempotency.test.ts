// POST /send with an Idempotency-Key: a resent request (same key, same body) is stored once, through the real
// producer, stream, processor and PostgreSQL; the same key with another body is stored too; a bad key is a 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotentEventIds } from '../producer/src/event-ids.js';
import { IDEMPOTENCY_WINDOW_S } from '../producer/src/publish-events.js';
import { idempotencyMarker } from '@logstream/shared/keys.js';
import { startService, stopAll, waitUntilReady, type Service } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
let producer: Service;
let marker = 0;

beforeAll(async () => {
  t = await createTestEnv('idempotency');
  const env = { ...t.env, BLOCK_MS: '100' };
  [producer] = await Promise.all([startService('producer', env), startService('processor', env)]);
  await waitUntilReady(producer);
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

function post(body: string, key?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== undefined) headers['idempotency-key'] = key;
  return fetch(`${producer.url}/send`, { method: 'POST', headers, body });
}

/** Messages stored so far, once the processor has caught up (a marker sent last is stored: one processor, in order). */
async function stored(): Promise<string[]> {
  const m = `marker ${++marker}`;
  expect((await post(JSON.stringify({ message: m, service: 'marker' }))).status).toBe(202);
  await waitFor(m, async () => (await t.pool.query('SELECT 1 FROM logs WHERE message = $1', [m])).rowCount === 1);
  const { rows } = await t.pool.query<{ message: string }>(`SELECT message FROM logs WHERE service <> 'marker' ORDER BY id`);
  return rows.map((r) => r.message);
}

describe('POST /send with Idempotency-Key', () => {
  it('stores a resent request once, another body under the same key too, and requests without a key each time', async () => {
    const batch = JSON.stringify([{ message: 'a' }, { message: 'b' }, { message: 'c', timestamp: 1764180000000 }]);
    const answers: { accepted: number; ids: string[]; duplicate?: boolean }[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await post(batch, 'batch-0001');
      expect(res.status).toBe(202);
      answers.push(await res.json());
    }
    // The same event ids each time, and the resends say they were resends.
    expect(answers.map((a) => a.duplicate)).toEqual([false, true, true]);
    expect(answers[1]!.ids).toEqual(answers[0]!.ids);
    expect(answers[2]).toEqual({ accepted: 3, ids: answers[0]!.ids, duplicate: true });
    expect(await stored()).toEqual(['a', 'b', 'c']);
    // Only the first request reached the stream (plus the marker event).
    expect(await t.redis.xlen(t.stream)).toBe(3 + 1);
    // Past the window (its marker gone), a resend is added again, yet stored as nothing new: same event ids.
    expect(await t.redis.del(idempotencyMarker(t.stream, answers[0]!.ids[0]!))).toBe(1);
    const late = (await (await post(batch, 'batch-0001')).json()) as { ids: string[]; duplicate: boolean };
    expect(late).toMatchObject({ ids: answers[0]!.ids, duplicate: false });
    expect(await stored()).toEqual(['a', 'b', 'c']);
    expect(await t.redis.xlen(t.stream)).toBe(3 + 1 + 3 + 1);
    // The marker expires by itself.
    const ttl = await t.redis.ttl(idempotencyMarker(t.stream, answers[0]!.ids[0]!));
    expect(ttl).toBeGreaterThan(IDEMPOTENCY_WINDOW_S - 60);
    expect(ttl).toBeLessThanOrEqual(IDEMPOTENCY_WINDOW_S);

    expect((await post(JSON.stringify([{ message: 'd' }]), 'batch-0001')).status).toBe(202);
    for (let i = 0; i < 2; i++) {
      const res = await post(JSON.stringify({ message: 'no key' }));
      expect(res.status).toBe(202);
      // Without a key there is nothing to be a duplicate of: no `duplicate` field.
      expect(Object.keys(await res.json()).sort()).toEqual(['accepted', 'ids']);
    }
    expect(await stored()).toEqual(['a', 'b', 'c', 'd', 'no key', 'no key']);
  });

  it('refuses a key that is not 1 to 255 visible ASCII characters, before storing anything', async () => {
    const before = await t.redis.xlen(t.stream);
    for (const key of ['has space', 'x'.repeat(256), 'tab\there']) {
      const res = await post(JSON.stringify({ message: 'bad key' }), key);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toContain('Idempotency-Key');
    }
    expect(await t.redis.xlen(t.stream)).toBe(before);
  });

  it('derives the same ids only from the same token, key and body', () => {
    const body = new TextEncoder().encode('[{"message":"a"},{"message":"b"}]');
    const ids = idempotentEventIds('t1', 'k', body, 2);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(idempotentEventIds('t1', 'k', body, 2)).toEqual(ids);
    for (const other of [idempotentEventIds('t2', 'k', body, 2), idempotentEventIds('t1', 'k2', body, 2), idempotentEventIds('t1', 'k', new TextEncoder().encode('[{"message":"a"}]'), 2)]) {
      expect(other[0]).not.toBe(ids[0]);
    }
  });
});
