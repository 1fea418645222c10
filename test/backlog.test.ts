// Backpressure (issue 4): with no processor running, once the unprocessed backlog reaches STREAM_MAX_BACKLOG the
// producer answers 503 with Retry-After and stores nothing more; when a processor catches up it accepts again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, stopAll, waitUntilReady, type Service } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
let producer: Service;

beforeAll(async () => {
  t = await createTestEnv('backlog');
  producer = await startService('producer', { ...t.env, STREAM_MAX_BACKLOG: '100' });
  await waitUntilReady(producer);
});

afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

const send = (n: number) =>
  fetch(`${producer.url}/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(Array.from({ length: n }, (_, i) => ({ message: `backlog-${i}` }))),
  });

describe('stream backlog limit', () => {
  it('answers 503 + Retry-After over STREAM_MAX_BACKLOG, and accepts again once processors catch up', async () => {
    expect((await send(120)).status).toBe(202);
    // The backlog is sampled once a second.
    const refused = await waitFor('a 503', async () => {
      const res = await send(1);
      return res.status === 503 ? res : undefined;
    }, 5_000, 200);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { error: string; message: string };
    expect(body.error).toBe('unavailable');
    expect(body.message).toMatch(/STREAM_MAX_BACKLOG/);
    const len = await t.redis.xlen(t.stream);
    expect((await send(5)).status).toBe(503);
    expect(await t.redis.xlen(t.stream)).toBe(len);

    await startService('processor', { ...t.env, BLOCK_MS: '100' });
    await waitFor('accepted again', async () => (await send(1)).status === 202, 15_000, 200);
  });
});
