// Smaller holes at the edges (issue 11 point 9), against the real producer, processor and gateway processes:
// reserved attribute keys, impossible dates, a batch no rate limit can ever allow, the processor's /metrics token,
// HEAD wherever GET, 431 for oversized headers, and the page's security headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from './helpers/raw-http.js';
import { startService, stopAll, waitUntilReady, type Service } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
let producer: Service;
let processor: Service;
let gateway: Service;

beforeAll(async () => {
  t = await createTestEnv('holes');
  const env = { ...t.env, BLOCK_MS: '100' };
  [producer, processor, gateway] = await Promise.all([
    startService('producer', { ...env, INGEST_RATE_LIMIT: '100' }),
    startService('processor', { ...env, READ_TOKENS: 'read-secret' }),
    startService('gateway', env),
  ]);
  await Promise.all([producer, processor, gateway].map((s) => waitUntilReady(s)));
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

const post = (body: string) => fetch(`${producer.url}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

async function storedAttributes(message: string): Promise<Record<string, unknown>> {
  return await waitFor(`row ${message}`, async () => {
    const { rows } = await t.pool.query<{ attributes: Record<string, unknown> }>('SELECT attributes FROM logs WHERE message = $1', [message]);
    return rows[0]?.attributes;
  });
}

describe('reserved attribute keys', () => {
  it('refuses "__proto__" with a 400 naming it, wherever it is sent, and stores nothing of the batch', async () => {
    const bodies = [
      '[{"message":"proto-ok"},{"message":"proto-1","attributes":{"__proto__":"x","a":"b"}}]',
      '{"message":"proto-2","__proto__":"top-level field"}',
    ];
    for (const body of bodies) {
      const res = await post(body);
      expect(res.status, body).toBe(400);
      const answer = (await res.json()) as { error: string; details: { path: string; message: string }[] };
      expect(answer.error).toBe('invalid_event');
      expect(answer.details[0]).toMatchObject({ path: 'attributes.__proto__' });
      expect(answer.details[0]!.message).toMatch(/reserved/);
    }
    const get = await fetch(`${producer.url}/send?message=proto-3&__proto__=x`);
    expect(get.status).toBe(400);
    expect(await t.redis.xlen(t.stream)).toBe(0);
  });

  it('stores "constructor" and "prototype" as ordinary attributes, and a nested "__proto__" object flattened', async () => {
    const res = await post('{"message":"ctor","attributes":{"constructor":"c","prototype":"p","toString":"s"},"__proto__x":1}');
    expect(res.status).toBe(202);
    expect(await storedAttributes('ctor')).toEqual({ constructor: 'c', prototype: 'p', toString: 's', __proto__x: 1 });
    expect((await post('{"message":"nested-proto","err":{"__proto__":{"polluted":true}}}')).status).toBe(202);
    expect(await storedAttributes('nested-proto')).toEqual({ 'err.__proto__.polluted': true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('timestamps', () => {
  it('refuses impossible dates and times with a 400 instead of rolling them over', async () => {
    for (const ts of ['2026-02-31T10:00:00Z', '2026-02-28T24:00:00Z', '2026-04-31T00:00:00Z', '2026-01-01T10:60:00Z', '2026-01-01T10:00:60Z', '2026-00-10T10:00:00Z', '2026-01-01T10:00:00+24:00']) {
      const res = await post(JSON.stringify({ message: 'bad date', timestamp: ts }));
      expect(res.status, ts).toBe(400);
      expect(((await res.json()) as { details: { path: string; message: string }[] }).details[0]).toMatchObject({ path: 'timestamp', message: expect.stringMatching(/not a real date/) });
    }
    // The edges that are real are taken: a leap day, the last second of a day.
    for (const ts of ['2024-02-29T12:00:00Z', '2025-12-31T23:59:59.999+01:00']) expect((await post(JSON.stringify({ message: 'good date', timestamp: ts }))).status, ts).toBe(202);
  });
});

describe('rate limit', () => {
  it('answers a batch larger than INGEST_RATE_LIMIT can ever allow with 413 naming the limit, not 429 forever', async () => {
    const batch = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ message: `rl-${i}` })));
    const res = await post(batch(101));
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('batch_over_rate_limit');
    expect(body.message).toMatch(/at most 100 events per request/);
    // A batch that fits is taken once the bucket has refilled (one second's worth).
    await waitFor('a batch of 100 taken', async () => (await post(batch(100))).status === 202, 10_000, 300);
  });
});

describe('processor /metrics', () => {
  it('wants a READ_TOKENS token, as the gateway does; /health stays open', async () => {
    expect((await fetch(`${processor.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${processor.url}/metrics?token=wrong`)).status).toBe(401);
    const ok = await fetch(`${processor.url}/metrics`, { headers: { authorization: 'Bearer read-secret' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/logstream_/);
    expect((await fetch(`${processor.url}/health`)).status).toBe(200);
  });
});

describe('HEAD', () => {
  it('answers HEAD wherever GET answers, with the same status and headers and no body', async () => {
    const paths: [Service, string, Record<string, string>?][] = [
      [producer, '/health'],
      [producer, '/ready'],
      [producer, '/metrics'],
      [producer, '/send?message=head-check'],
      [processor, '/health'],
      [processor, '/metrics', { authorization: 'Bearer read-secret' }],
      [gateway, '/health'],
      [gateway, '/ui'],
      [gateway, '/app.js'],
      [gateway, '/logs?limit=1'],
      [gateway, '/stats'],
    ];
    for (const [service, path, headers] of paths) {
      const head = await fetch(`${service.url}${path}`, { method: 'HEAD', headers });
      expect(head.status, `HEAD ${service.name} ${path}`).toBeLessThan(300);
      expect(await head.text()).toBe('');
      if (path.startsWith('/send')) continue; // a GET /send stores an event: compared by status only
      const get = await fetch(`${service.url}${path}`, { headers });
      expect(head.status).toBe(get.status);
      expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
      const body = await get.arrayBuffer();
      if (path === '/ui' || path === '/app.js' || path === '/health') expect(Number(head.headers.get('content-length'))).toBe(body.byteLength);
    }
  });
});

describe('oversized request headers', () => {
  it('answers 431 on every service, and serves the next connection', async () => {
    for (const service of [producer, processor, gateway]) {
      const res = await rawRequest(service.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(res.status, service.name).toBe(431);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'headers_too_large' });
      expect((await fetch(`${service.url}/health`)).status).toBe(200);
    }
  });
});

describe('too many request headers', () => {
  // uWS 20.30 parses at most 48 header lines (UWS_HTTP_MAX_HEADERS_COUNT 50, less the request line and the end
  // marker) and calls no handler for a request with more: it waits for the rest of a head under 4 KiB until its
  // 10 s idle timeout, and drops one over 4 KiB at once, with no answer either way. Nothing can answer 431 from
  // JavaScript, so what is tested is the bound: closed, unanswered, nothing stored, the next request served.
  const sendWith = (headers: number, message: string, valueBytes = 8) => {
    const body = JSON.stringify({ message });
    const extra = Array.from({ length: headers - 3 }, (_, i) => `X-H${i}: ${'v'.repeat(valueBytes)}\r\n`).join('');
    return rawRequest(producer.port, `POST /send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, 60_000);
  };
  const rows = async (message: string) => (await t.pool.query('SELECT 1 FROM logs WHERE message = $1', [message])).rowCount;

  it('48 are served; with 49 the connection is closed unanswered within the idle timeout, over 4 KiB at once, and nothing is stored', async () => {
    expect((await sendWith(48, 'headers-48')).status).toBe(202);
    const started = Date.now();
    const small = await sendWith(49, 'headers-49');
    const smallMs = Date.now() - started;
    expect(small).toMatchObject({ status: 0, closed: true });
    // uWS's HTTP idle timeout is 10 s, checked on a 4 s tick (measured 12 s); 60 s is the bound for a hang.
    expect(smallMs).toBeGreaterThan(5_000);
    const large = await sendWith(60, 'headers-60', 80);
    expect(large).toMatchObject({ status: 0, closed: true });
    expect((await post('{"message":"after-many-headers"}')).status).toBe(202);
    await waitFor('the request after them stored', async () => (await rows('after-many-headers')) === 1);
    expect(await rows('headers-48')).toBe(1);
    expect(await rows('headers-49')).toBe(0);
    expect(await rows('headers-60')).toBe(0);
    console.info(`too many headers: 49 small closed after ${smallMs} ms`);
  });
});

describe('the page', () => {
  it('is served with a Content-Security-Policy, nosniff, no referrer, and no framing', async () => {
    for (const path of ['/ui', '/', '/app.js', '/style.css']) {
      const res = await fetch(`${gateway.url}${path}`);
      await res.arrayBuffer();
      expect(res.status, path).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toMatch(/default-src 'self'/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });
});
