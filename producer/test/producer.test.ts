// The producer as a real process against the real Redis: every ingest path of CONTRACT §3 and its errors (§7).
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, stopAll, waitUntilReady, type Service } from '../../test/helpers/services.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/test-env.js';

let t: TestEnv;
let producer: Service;

beforeAll(async () => {
  t = await createTestEnv('producer');
  producer = await startService('producer', { ...t.env, DEFAULT_LOG_MESSAGE: 'default text' });
  // It listens before its Redis connection is up (and answers 503 until then).
  await waitUntilReady(producer);
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

/** The events stored in the stream, by event id (the ids a 202 answers). */
async function streamEvents(): Promise<Map<string, any>> {
  const entries = (await t.redis.xrange(t.stream, '-', '+')) as [string, string[]][];
  return new Map(entries.map(([, fields]) => JSON.parse(fields[1]!)).map((e) => [e.eid, e]));
}

const post = (body: string, type = 'application/json') =>
  fetch(`${producer.url}/send`, { method: 'POST', headers: { 'content-type': type }, body });

describe('producer', () => {
  it('GET /send accepts one event from the query string', async () => {
    const res = await fetch(`${producer.url}/send?message=hello&level=warn&service=api&host=web-1`);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; ids: string[] };
    expect(body.accepted).toBe(1);
    const stored = (await streamEvents()).get(body.ids[0]!);
    expect(stored).toMatchObject({ message: 'hello', level: 40, service: 'api', attributes: { host: 'web-1' } });
    expect(stored.eid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(stored.ts - Date.now())).toBeLessThan(10_000);
  });

  it('GET /send without message uses DEFAULT_LOG_MESSAGE', async () => {
    const body = (await (await fetch(`${producer.url}/send`)).json()) as { ids: string[] };
    expect((await streamEvents()).get(body.ids[0]!).message).toBe('default text');
  });

  it('POST /send takes one event or an array, in order, each with a distinct event id', async () => {
    const one = await post(JSON.stringify({ message: 'single', timestamp: 1764180000000 }));
    expect(one.status).toBe(202);
    const batch = await post(JSON.stringify([{ message: 'b1' }, { message: 'b2', level: 60 }, { message: 'b3' }]));
    expect(batch.status).toBe(202);
    const body = (await batch.json()) as { accepted: number; ids: string[] };
    expect(body.accepted).toBe(3);
    const stream = await streamEvents();
    expect(body.ids.map((id) => stream.get(id).message)).toEqual(['b1', 'b2', 'b3']);
    expect(stream.get(body.ids[1]!).level).toBe(60);
    expect(new Set(body.ids.map((id) => stream.get(id).eid)).size).toBe(3);
  });

  it('POST /send takes NDJSON, including pino lines as they are', async () => {
    const pinoLine = JSON.stringify({ level: 40, time: 1764180000000, pid: 7, hostname: 'h', msg: 'from pino' });
    const res = await post(`${pinoLine}\n\n{"message":"second"}\n`, 'application/x-ndjson');
    expect(res.status).toBe(202);
    const body = (await res.json()) as { ids: string[] };
    const stream = await streamEvents();
    expect(stream.get(body.ids[0]!)).toMatchObject({ message: 'from pino', level: 40, ts: 1764180000000, attributes: { pid: 7, hostname: 'h' } });
    expect(stream.get(body.ids[1]!).message).toBe('second');
  });

  it('rejects a batch with one invalid event as a whole, naming the event, and stores nothing', async () => {
    const before = await t.redis.xlen(t.stream);
    const res = await post(JSON.stringify([{ message: 'ok' }, { message: 'bad', level: 'loud' }]));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string; details: { index: number; path: string }[] };
    expect(body.error).toBe('invalid_event');
    expect(body.details[0]).toMatchObject({ index: 1, path: 'level' });
    expect(await t.redis.xlen(t.stream)).toBe(before);
  });

  it.each([
    ['malformed JSON', '{"message":', 'application/json', 400],
    ['an empty array', '[]', 'application/json', 400],
    ['an unsupported type', 'message=hi', 'application/x-www-form-urlencoded', 415],
    ['a bad NDJSON line', '{"message":"a"}\n{oops}\n', 'application/x-ndjson', 400],
  ])('answers %s with a JSON error', async (_what, body, type, status) => {
    const before = await t.redis.xlen(t.stream);
    const res = await post(body, type);
    expect(res.status).toBe(status);
    const json = (await res.json()) as { error: string; message: string };
    expect(json.error).toBeTruthy();
    expect(json.message.length).toBeGreaterThan(10);
    expect(await t.redis.xlen(t.stream)).toBe(before);
  });

  it('lets browsers on other origins send (CORS preflight and headers)', async () => {
    const pre = await fetch(`${producer.url}/send`, { method: 'OPTIONS', headers: { origin: 'http://app.example', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')).toContain('Content-Type');
    const res = await post(JSON.stringify({ message: 'from a browser' }));
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('answers unknown paths with 404 JSON and serves health and metrics', async () => {
    const res = await fetch(`${producer.url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe('not_found');
    expect((await fetch(`${producer.url}/health`)).status).toBe(200);
    expect((await fetch(`${producer.url}/ready`)).status).toBe(200);
    expect(await (await fetch(`${producer.url}/metrics`)).text()).toContain('logstream_events_accepted_total');
  });

  it('WebSocket /publish acks each frame: an event, an array, or plain text; errors keep the socket open', async () => {
    const ws = new WebSocket(`${producer.url.replace('http', 'ws')}/publish`);
    const replies: any[] = [];
    ws.on('message', (m) => replies.push(JSON.parse(m.toString())));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ message: 'ws one', service: 'ws' }));
    ws.send(JSON.stringify([{ message: 'ws two' }, { message: 'ws three' }]));
    ws.send('plain text line');
    ws.send('{"message": broken');
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    ws.send(JSON.stringify({ message: 'after errors' }));
    await new Promise<void>((resolve, reject) => {
      const start = Date.now();
      const tick = () => (replies.length >= 6 ? resolve() : Date.now() - start > 5000 ? reject(new Error(JSON.stringify(replies))) : setTimeout(tick, 20));
      tick();
    });
    ws.close();
    expect(replies.map((r) => r.type)).toEqual(['ack', 'ack', 'ack', 'error', 'error', 'ack']);
    expect(replies.map((r) => r.accepted ?? 0)).toEqual([1, 2, 1, 0, 0, 1]);
    expect(replies[3]).toMatchObject({ error: 'bad_request' });
    expect(replies[3].message).toMatch(/^malformed JSON: .*; a frame that starts with \{ or \[ is read as JSON: to send such text as a message, send \{"message":"…"\}$/);
    const stream = await streamEvents();
    expect(stream.get(replies[2].ids[0]).message).toBe('plain text line');
    expect(replies[1].ids.map((id: string) => stream.get(id).message)).toEqual(['ws two', 'ws three']);
  });
});
