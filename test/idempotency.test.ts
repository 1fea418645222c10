// POST /send with an Idempotency-Key: a resent request (same key, same body) is stored once, through the real
// producer, stream, processor and PostgreSQL; the same key with another body is stored too; a bad key is a 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotentEventIds } from '../producer/src/event-ids.js';
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
    for (let i = 0; i < 3; i++) expect((await post(batch, 'batch-0001')).status).toBe(202);
    expect(await stored()).toEqual(['a', 'b', 'c']);
    // Three requests reached the stream; two were stored as nothing new.
    expect(await t.redis.xlen(t.stream)).toBe(3 * 3 + 1);

    expect((await post(JSON.stringify([{ message: 'd' }]), 'batch-0001')).status).toBe(202);
    for (let i = 0; i < 2; i++) expect((await post(JSON.stringify({ message: 'no key' }))).status).toBe(202);
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
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(idempotentEventIds('t1', 'k', body, 2)).toEqual(ids);
    for (const other of [idempotentEventIds('t2', 'k', body, 2), idempotentEventIds('t1', 'k2', body, 2), idempotentEventIds('t1', 'k', new TextEncoder().encode('[{"message":"a"}]'), 2)]) {
      expect(other[0]).not.toBe(ids[0]);
    }
  });
});
