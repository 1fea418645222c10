// Tokens (issue 4, CONTRACT §2, §7): with INGEST_TOKENS / READ_TOKENS set, every producer and gateway endpoint,
// HTTP and WebSocket upgrade, wants `Authorization: Bearer …` (or `?token=`), answers 401 otherwise, and /health
// stays open. Ingest is rate-limited per token (INGEST_RATE_LIMIT): 429 with Retry-After, nothing stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startService, stopAll, waitUntilReady, type Service } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

const INGEST = ['ingest-token-a', 'ingest-token-b'];
const READ = 'read-token-1';
const RATE = 50;
let t: TestEnv;
let producer: Service;
let gateway: Service;

beforeAll(async () => {
  t = await createTestEnv('auth');
  const env = { ...t.env, INGEST_TOKENS: INGEST.join(','), READ_TOKENS: READ, INGEST_RATE_LIMIT: String(RATE) };
  [producer, gateway] = await Promise.all([startService('producer', env), startService('gateway', env)]);
  await Promise.all([waitUntilReady(producer), waitUntilReady(gateway)]);
});

afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function expect401(res: Response) {
  expect(res.status).toBe(401);
  const body = (await res.json()) as { error: string; message: string };
  expect(body.error).toBe('unauthorized');
  expect(typeof body.message).toBe('string');
}

/** Resolves with the upgrade's HTTP status when refused, or 101 and the first frame when accepted. */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; first?: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on('message', (d) => {
      resolve({ status: 101, first: JSON.parse(d.toString()) });
      ws.close();
    });
    ws.on('open', () => {
      // /publish says nothing until spoken to: send an event and take the ack as the first frame.
      if (url.includes('/publish')) ws.send(`{"message":"ws auth","service":"auth"}`);
    });
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

const post = (token: string | undefined, n: number) =>
  fetch(`${producer.url}/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? bearer(token) : {}) },
    body: JSON.stringify(Array.from({ length: n }, (_, i) => ({ message: `auth-${i}`, service: 'auth' }))),
  });

describe('producer with INGEST_TOKENS', () => {
  it('wants a valid token on GET and POST /send; /health stays open', async () => {
    await expect401(await fetch(`${producer.url}/send?message=no-token`));
    await expect401(await fetch(`${producer.url}/send?message=wrong`, { headers: bearer('nope') }));
    await expect401(await fetch(`${producer.url}/send?message=read-token`, { headers: bearer(READ) }));
    await expect401(await fetch(`${producer.url}/send?message=basic`, { headers: { authorization: `Basic ${INGEST[0]}` } }));
    const challenged = await fetch(`${producer.url}/send?message=x`);
    expect(challenged.headers.get('www-authenticate')).toMatch(/^Bearer/);
    await challenged.arrayBuffer();
    await expect401(await post(undefined, 1));
    await expect401(await post('ingest-token-', 1)); // a prefix of a real token
    expect(await t.redis.xlen(t.stream)).toBe(0);

    expect((await fetch(`${producer.url}/send?message=ok`, { headers: bearer(INGEST[0]!) })).status).toBe(202);
    expect((await fetch(`${producer.url}/send?message=ok&token=${INGEST[1]}`)).status).toBe(202);
    expect((await post(INGEST[1], 1)).status).toBe(202);
    expect((await fetch(`${producer.url}/health`)).status).toBe(200);
    expect((await fetch(`${producer.url}/ready`)).status).toBe(200);
    await expect401(await fetch(`${producer.url}/metrics`));
    expect((await fetch(`${producer.url}/metrics`, { headers: bearer(INGEST[0]!) })).status).toBe(200);
  });

  it('wants a valid token on the /publish upgrade (header or ?token=)', async () => {
    const ws = producer.url.replace('http', 'ws');
    expect((await upgrade(`${ws}/publish`)).status).toBe(401);
    expect((await upgrade(`${ws}/publish?token=wrong`)).status).toBe(401);
    expect((await upgrade(`${ws}/publish`, bearer('wrong'))).status).toBe(401);
    const byQuery = await upgrade(`${ws}/publish?token=${INGEST[0]}`);
    expect(byQuery).toMatchObject({ status: 101, first: { type: 'ack', accepted: 1 } });
    const byHeader = await upgrade(`${ws}/publish`, bearer(INGEST[1]!));
    expect(byHeader).toMatchObject({ status: 101, first: { type: 'ack', accepted: 1 } });
  });

  it('rate-limits each token: 429 with Retry-After, nothing of the refused batch stored, other tokens unaffected', async () => {
    // Let both buckets refill after the tests above.
    await new Promise((r) => setTimeout(r, 1_100));
    const before = await t.redis.xlen(t.stream);
    expect((await post(INGEST[0], RATE - 10)).status).toBe(202);
    // 45 more cannot fit unless ~700 ms passed between the two requests (the bucket refills 50/s).
    const refused = await post(INGEST[0], 45);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { error: string; message: string };
    expect(body.error).toBe('rate_limited');
    expect(await t.redis.xlen(t.stream)).toBe(before + RATE - 10);
    // Another token has its own bucket.
    expect((await post(INGEST[1], RATE - 10)).status).toBe(202);
    // The bucket refills: after the advertised wait the same request passes.
    await new Promise((r) => setTimeout(r, Number(refused.headers.get('retry-after')) * 1000 + 100));
    expect((await post(INGEST[0], 45)).status).toBe(202);
  });

  it('rate-limits WebSocket frames with a rate_limited error frame', async () => {
    await new Promise((r) => setTimeout(r, 1_100));
    const ws = new WebSocket(`${producer.url.replace('http', 'ws')}/publish?token=${INGEST[0]}`);
    const frames: any[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once('open', r));
    const batch = JSON.stringify(Array.from({ length: 20 }, (_, i) => ({ message: `ws-rate-${i}` })));
    for (let i = 0; i < 5; i++) ws.send(batch);
    await waitFor('5 answers', () => frames.length >= 5);
    const acked = frames.filter((f) => f.type === 'ack').length;
    expect(acked).toBeLessThanOrEqual(Math.ceil(RATE / 20));
    expect(frames.filter((f) => f.type === 'error' && f.error === 'rate_limited').length).toBe(5 - acked);
    ws.close();
  });
});

describe('gateway with READ_TOKENS', () => {
  it('wants a valid token on /logs and /logs/<id>; /health stays open', async () => {
    await expect401(await fetch(`${gateway.url}/logs`));
    await expect401(await fetch(`${gateway.url}/logs`, { headers: bearer(INGEST[0]!) }));
    await expect401(await fetch(`${gateway.url}/logs?token=wrong`));
    await expect401(await fetch(`${gateway.url}/logs/1`));
    await expect401(await fetch(`${gateway.url}/logs/abc`)); // the token is checked before the id
    expect((await fetch(`${gateway.url}/logs`, { headers: bearer(READ) })).status).toBe(200);
    expect((await fetch(`${gateway.url}/logs?token=${READ}`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/logs/999999`, { headers: bearer(READ) })).status).toBe(404);
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    await expect401(await fetch(`${gateway.url}/metrics`));
    expect((await fetch(`${gateway.url}/metrics`, { headers: bearer(READ) })).status).toBe(200);
  });

  it('wants a valid token on the /live upgrade (header or ?token=)', async () => {
    const ws = gateway.url.replace('http', 'ws');
    expect((await upgrade(`${ws}/live`)).status).toBe(401);
    expect((await upgrade(`${ws}/live?token=${INGEST[0]}`)).status).toBe(401);
    expect(await upgrade(`${ws}/live?token=${READ}`)).toMatchObject({ status: 101, first: { type: 'hello' } });
    expect(await upgrade(`${ws}/live?level=warn`, bearer(READ))).toMatchObject({ status: 101, first: { type: 'hello' } });
  });
});
