// Hostile input at every endpoint (issue 4, CONTRACT §7): malformed, truncated, oversized, deeply nested, invalid
// UTF-8, NUL bytes, absurd values, SQL-looking filters, bad WebSocket frames and floods. Each gets a 4xx JSON error
// (or a closed socket for WebSocket protocol violations), the services stay up and keep serving another client,
// and nothing of a rejected batch reaches the stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_BATCH_EVENTS, MAX_MESSAGE_BYTES } from '@logstream/shared/event.js';
import { connectLive } from './helpers/live-client.js';
import { rawRequest, streamChunkedBody } from './helpers/raw-http.js';
import { startService, stopAll, waitUntilReady, type Service } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

const MAX_BODY = 256 * 1024;
let t: TestEnv;
let producer: Service;
let gateway: Service;
/** Events the producer accepted on purpose; the stream must hold exactly these. */
let accepted = 0;

beforeAll(async () => {
  t = await createTestEnv('hostile');
  const env = { ...t.env, MAX_BODY_BYTES: String(MAX_BODY) };
  [producer, gateway] = await Promise.all([startService('producer', env), startService('gateway', env)]);
  await Promise.all([waitUntilReady(producer), waitUntilReady(gateway)]);
});

afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

async function expectJsonError(res: Response | { status: number; body: string; headers?: string }, status: number, code?: string) {
  const text = res instanceof Response ? await res.text() : res.body;
  expect(res.status, text.slice(0, 300)).toBe(status);
  if (res instanceof Response) expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const body = JSON.parse(text) as { error: unknown; message: unknown };
  expect(typeof body.error).toBe('string');
  expect(typeof body.message).toBe('string');
  expect((body.message as string).length).toBeGreaterThan(0);
  if (code) expect(body.error).toBe(code);
  return body;
}

const post = (body: string | Buffer, type = 'application/json', path = '/send') =>
  fetch(`${producer.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body: body as BodyInit });

const xlen = () => t.redis.xlen(t.stream);

async function expectStreamUnchanged() {
  expect(await xlen()).toBe(accepted);
}

async function expectServing() {
  expect(producer.proc.exitCode).toBeNull();
  expect(gateway.proc.exitCode).toBeNull();
  const res = await fetch(`${producer.url}/send?message=still-serving&service=hostile`);
  expect(res.status).toBe(202);
  accepted++;
  expect((await fetch(`${gateway.url}/logs?limit=1`)).status).toBe(200);
}

/** A WebSocket client that records every text frame it gets and how the connection ended. */
async function openWs(url: string) {
  const ws = new WebSocket(url);
  const frames: any[] = [];
  let closeCode: number | undefined;
  ws.on('message', (d, isBinary) => frames.push(isBinary ? { binary: true } : JSON.parse(d.toString())));
  ws.on('close', (code) => (closeCode = code));
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    closed: () => closeCode,
    waitFrames: (n: number, timeoutMs = 10_000) => waitFor(`${n} frames (have ${frames.length})`, () => frames.length >= n, timeoutMs),
    waitClosed: (timeoutMs = 10_000) => waitFor('the server to close', () => closeCode, timeoutMs),
  };
}

describe('POST /send', () => {
  it('answers malformed, truncated and wrongly typed JSON with 400 and stores nothing', async () => {
    const cases: [string, string, string?][] = [
      ['{"message":', 'bad_request'],
      ['[{"message":"a"},{"mess', 'bad_request'],
      ['{"message":"a"}}', 'bad_request'],
      ["{'message':'single quotes'}", 'bad_request'],
      ['', 'bad_request'],
      ['[]', 'bad_request'],
      ['null', 'invalid_event'],
      ['"just a string"', 'invalid_event'],
      ['42', 'invalid_event'],
      ['{"message":123}', 'invalid_event'],
      ['{"message":""}', 'invalid_event'],
      ['{"message":"a","level":[]}', 'invalid_event'],
      ['{"message":"a","service":{"x":1}}', 'invalid_event'],
      ['{"message":"a","attributes":[1,2]}', 'invalid_event'],
      ['{"message":"a","attributes":{"nested":{"x":1},"big":"' + 'x'.repeat(70_000) + '"}}', 'invalid_event'],
      ['{"message":"a","timestamp":true}', 'invalid_event'],
      // One bad event rejects the whole batch, however many good ones come with it.
      ['[{"message":"good-1"},{"message":"good-2"},{"message":5}]', 'invalid_event'],
    ];
    for (const [body, code] of cases) await expectJsonError(await post(body), 400, code);
    await expectJsonError(await post('{"message":"a"}\n{"message":', 'application/x-ndjson'), 400, 'bad_request');
    await expectJsonError(await post('{"message":"a"}\n{"message":7}', 'application/x-ndjson'), 400, 'invalid_event');
    await expectJsonError(await post('{"message":"a"}', 'text/xml'), 415, 'unsupported_media_type');
    await expectStreamUnchanged();
    await expectServing();
  });

  it('rejects absurd timestamps, unknown levels and NUL bytes (aliases and custom pino numbers are accepted: levels-and-nesting.test.ts)', async () => {
    const bad = [
      { message: 'a', timestamp: 1e20 },
      { message: 'a', timestamp: -1 },
      { message: 'a', timestamp: Date.now() + 7 * 86_400_000 },
      { message: 'a', timestamp: '9999-12-31T23:59:59Z' },
      { message: 'a', timestamp: '2026-13-45T99:99:99Z' },
      { message: 'a', timestamp: 'yesterday' },
      { message: 'a', level: 'loud' },
      { message: 'a', level: -35 },
      { message: 'a', level: 3.5 },
      { message: 'a\u0000b' },
      { message: 'a', service: 'x\u0000' },
      { message: 'a', attributes: { k: 'v\u0000' } },
      { message: 'a', attributes: { 'k\u0000': 'v' } },
      { message: 'a', service: "api'; DROP TABLE logs; --" },
    ];
    for (const e of bad) await expectJsonError(await post(JSON.stringify(e)), 400, 'invalid_event');
    // A raw NUL byte (not the \u0000 escape) is not even JSON.
    await expectJsonError(await post(Buffer.from('{"message":"a\u0000b"}')), 400, 'bad_request');
    await expectStreamUnchanged();
  });

  it('rejects invalid UTF-8 bodies with 400', async () => {
    const body = Buffer.concat([Buffer.from('{"message":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
    await expectJsonError(await post(body), 400, 'invalid_utf8');
    const overlong = Buffer.concat([Buffer.from('{"message":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]);
    await expectJsonError(await post(overlong, 'application/x-ndjson'), 400, 'invalid_utf8');
    await expectStreamUnchanged();
  });

  it('rejects a message over 64 KiB but accepts one of exactly 64 KiB', async () => {
    await expectJsonError(await post(JSON.stringify({ message: 'x'.repeat(MAX_MESSAGE_BYTES + 1) })), 400, 'invalid_event');
    // Multi-byte characters count in bytes: 21,846 × 3 bytes = 65,538 bytes.
    await expectJsonError(await post(JSON.stringify({ message: '€'.repeat(21_846) })), 400, 'invalid_event');
    await expectStreamUnchanged();
    expect((await post(JSON.stringify({ message: 'x'.repeat(MAX_MESSAGE_BYTES) }))).status).toBe(202);
    accepted++;
    await expectStreamUnchanged();
  });

  it('rejects more than 10,000 events in one request, JSON or NDJSON', async () => {
    const events = Array.from({ length: MAX_BATCH_EVENTS + 1 }, () => ({ message: 'm' }));
    const json = JSON.stringify(events);
    expect(json.length).toBeLessThan(MAX_BODY);
    await expectJsonError(await post(json), 400, 'too_many_events');
    await expectJsonError(await post(events.map((e) => JSON.stringify(e)).join('\n'), 'application/x-ndjson'), 400, 'too_many_events');
    await expectStreamUnchanged();
  });

  it('rejects deep nesting without a 500', async () => {
    const depth = 40_000;
    const cases = [
      `{"message":"a","attributes":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
      `{"message":"a","extra":${'['.repeat(depth)}${']'.repeat(depth)}}`, // a pino field: would be JSON.stringify'd
      `{"message":${'['.repeat(depth)}${']'.repeat(depth)}}`,
      `${'['.repeat(depth)}${']'.repeat(depth)}`,
    ];
    for (const body of cases) {
      expect(body.length).toBeLessThan(MAX_BODY);
      const res = await post(body);
      expect([400]).toContain(res.status);
      await expectJsonError(res, 400);
    }
    await expectStreamUnchanged();
    await expectServing();
  });

  it('answers a body over MAX_BODY_BYTES with 413 before reading it, and closes the connection', async () => {
    const big = JSON.stringify([{ message: 'x'.repeat(60_000) }, { message: 'x'.repeat(60_000) }, { message: 'x'.repeat(60_000) }, { message: 'x'.repeat(60_000) }, { message: 'x'.repeat(60_000) }]);
    expect(big.length).toBeGreaterThan(MAX_BODY);
    const res = await rawRequest(producer.port, `POST /send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
    await expectJsonError(res, 413, 'payload_too_large');
    await expectStreamUnchanged();
  });

  it('cuts a streamed chunked body off at the limit: 413 and the connection closed, not buffered whole', async () => {
    const offered = 64 * 1024 * 1024;
    // The producer closes the connection right after its 413 (the rest of the body is not read), and the client is
    // still writing: the close of a socket with unread input is a TCP reset, which can overtake the 413 (status 0
    // in 1 of 4 clean-clone runs, 2026-12-01; uWS 20.30 has no lingering close). A reset with no answer is sent
    // again, at most twice; a producer that never answers 413 still fails.
    let res = await streamChunkedBody(producer.port, '/send', offered);
    for (let retry = 0; retry < 2 && res.status === 0; retry++) res = await streamChunkedBody(producer.port, '/send', offered);
    await expectJsonError(res, 413, 'payload_too_large');
    expect(res.closed).toBe(true);
    // What was written before the close is the limit plus the kernel's socket buffers, far below what was offered.
    expect(res.written).toBeLessThan(offered / 2);
    console.log(`[hostile] chunked body: 413 after ${res.written} of ${offered} bytes written (limit ${MAX_BODY})`);
    await expectStreamUnchanged();
    await expectServing();
  });
});

describe('GET /send', () => {
  it('rejects bad parameters, invalid UTF-8 and NUL with 400', async () => {
    const bad = [
      'message=a&level=loud',
      'message=a&level=-5',
      'message=a&timestamp=notatime',
      'message=a&timestamp=99999999999999999',
      'message=a&service=a%27b%22c',
      'message=a%00b',
      'message=%FF%FE',
      'message=%C3',
      `message=${'x'.repeat(MAX_MESSAGE_BYTES + 1)}`,
      'message=',
    ];
    for (const q of bad) await expectJsonError(await fetch(`${producer.url}/send?${q}`), 400);
    // Raw bytes that are not UTF-8 in the request line.
    const raw = Buffer.concat([Buffer.from('GET /send?message='), Buffer.from([0xff, 0xfe]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]);
    await expectJsonError(await rawRequest(producer.port, raw), 400, 'invalid_utf8');
    await expectStreamUnchanged();
    // A stray % is kept literally, as URLSearchParams would.
    expect((await fetch(`${producer.url}/send?message=100%&service=hostile`)).status).toBe(202);
    accepted++;
    await expectServing();
  });
});

describe('WebSocket /publish', () => {
  const url = () => `${producer.url.replace('http', 'ws')}/publish`;

  it('answers bad frames with error frames and keeps the connection open', async () => {
    const c = await openWs(url());
    const bad: (string | Buffer)[] = ['{"message":', '[{"message":"a"},{"message":5}]', '{"message":"a","level":"loud"}', '[]', `[${Array(MAX_BATCH_EVENTS + 1).fill('{"message":"m"}').join(',')}]`, '{"message":"a\\u0000"}'];
    for (const f of bad) c.ws.send(f);
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await c.waitFrames(bad.length + 1);
    for (const f of c.frames) {
      expect(f.type).toBe('error');
      expect(typeof f.error).toBe('string');
      expect(typeof f.message).toBe('string');
    }
    await expectStreamUnchanged();
    c.ws.send('plain text is an event');
    await c.waitFrames(bad.length + 2);
    expect(c.frames.at(-1)).toMatchObject({ type: 'ack', accepted: 1 });
    accepted++;
    c.ws.close();
  });

  it('answers a frame over the size limit with an error frame, closes one over twice the limit or with invalid UTF-8 text; others are unaffected', async () => {
    const other = await openWs(url());
    const big = await openWs(url());
    big.ws.send(JSON.stringify({ message: 'x'.repeat(MAX_BODY + 10) }));
    await big.waitFrames(1);
    expect(big.frames[0]).toMatchObject({ type: 'error', error: 'payload_too_large' });
    expect(big.frames[0].message).toContain(`limit of ${MAX_BODY} bytes`);
    // The connection stays open and the next frame is accepted.
    big.ws.send('{"message":"after a frame too large","service":"hostile"}');
    await big.waitFrames(2);
    expect(big.frames[1]).toMatchObject({ type: 'ack', accepted: 1 });
    accepted++;
    const huge = await openWs(url());
    huge.ws.send(JSON.stringify({ message: 'x'.repeat(2 * MAX_BODY + 10) }));
    expect([1006, 1009]).toContain(await huge.waitClosed()); // uWS drops the connection without a close frame
    const badText = await openWs(url());
    // A text frame with invalid UTF-8 (ws sends a Buffer as text unvalidated): closed by uWS (RFC 6455 §8.1) or
    // answered with an invalid_utf8 error frame, never stored.
    badText.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x41]), { binary: false });
    await waitFor('an answer or a close', () => badText.frames.length > 0 || badText.closed() !== undefined);
    // (uWS closes it without a close frame: 1006 here.)
    if (badText.closed() === undefined) expect(badText.frames[0]).toMatchObject({ type: 'error', error: 'invalid_utf8' });
    else expect([1007, 1002, 1006]).toContain(badText.closed());
    other.ws.send('{"message":"other client","service":"hostile"}');
    await other.waitFrames(1);
    expect(other.frames[0]).toMatchObject({ type: 'ack', accepted: 1 });
    accepted++;
    other.ws.close();
    await expectStreamUnchanged();
  });

  it('survives a flood of frames: each frame gets exactly one answer and only acked events are in the stream', async () => {
    const c = await openWs(url());
    const n = 2_000;
    for (let i = 0; i < n; i++) c.ws.send(i % 10 === 9 ? '{"message":' : `{"message":"flood-${i}","service":"hostile"}`);
    await c.waitFrames(n, 30_000);
    const acks = c.frames.filter((f) => f.type === 'ack');
    const errors = c.frames.filter((f) => f.type === 'error');
    expect(acks.length + errors.length).toBe(n);
    // Malformed frames are never acked (they get bad_request, or too_many_in_flight when that check comes first).
    expect(errors.length).toBeGreaterThanOrEqual(n / 10);
    expect(errors.filter((e) => e.error === 'bad_request').length).toBeGreaterThan(0);
    for (const e of errors) expect(['bad_request', 'too_many_in_flight']).toContain(e.error);
    accepted += acks.reduce((s, a) => s + a.accepted, 0);
    await expectStreamUnchanged();
    c.ws.close();
    await expectServing();
  });
});

describe('gateway /logs and /logs/<id>', () => {
  const ids: number[] = [];
  beforeAll(async () => {
    const messages = ["x' OR 1=1 --", 'plain row', '100% done', 'under_score', 'back\\slash'];
    for (const m of messages) {
      const { rows } = await t.pool.query<{ id: number }>(
        `INSERT INTO logs (id, stream_id, "timestamp", received_at, level, service, message)
         VALUES (nextval('logs_id_seq'), $1, now(), now(), 30, 'hostile', $2) RETURNING id`,
        [`0-${ids.length + 1}`, m],
      );
      ids.push(rows[0]!.id);
    }
  });

  it('rejects bad parameters with 400', async () => {
    const bad = [
      'limit=abc', 'limit=0', 'limit=1001', 'limit=-5', 'limit=1e3', 'before=-1', 'after=1.5', 'before=99999999999999999999',
      'since=notatime', 'until=2026-13-45T00:00:00Z', 'level=verbose', "service=api'--", 'service=a%22b', `q=${'x'.repeat(300)}`,
      'q=a%00b', 'q=%FF', 'service=%C3%28', `service=${Array.from({ length: 60 }, (_, i) => `s${i}`).join(',')}`,
    ];
    for (const q of bad) await expectJsonError(await fetch(`${gateway.url}/logs?${q}`), 400);
    const raw = Buffer.concat([Buffer.from('GET /logs?q='), Buffer.from([0xc3, 0x28]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]);
    await expectJsonError(await rawRequest(gateway.port, raw), 400, 'invalid_utf8');
  });

  it('treats SQL-looking and wildcard filter values as plain text', async () => {
    const search = async (q: string) => {
      const res = await fetch(`${gateway.url}/logs?service=hostile&q=${encodeURIComponent(q)}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { items: { message: string }[] }).items.map((i) => i.message);
    };
    expect(await search("' OR 1=1 --")).toEqual(["x' OR 1=1 --"]);
    expect(await search("'; DROP TABLE logs; --")).toEqual([]);
    expect(await search('%')).toEqual(['100% done']);
    expect(await search('_')).toEqual(['under_score']);
    expect(await search('\\')).toEqual(['back\\slash']);
    const { rows } = await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM logs');
    expect(rows[0]!.n).toBe(ids.length);
  });

  it('answers /logs/<id> with 400 for non-ids and 404 for unknown ids', async () => {
    for (const id of ['abc', '-1', '1.5', '99999999999999999999', "1'%20OR%20'1'='1", '%FF', '1;DROP']) {
      await expectJsonError(await fetch(`${gateway.url}/logs/${id}`), 400);
    }
    await expectJsonError(await fetch(`${gateway.url}/logs/${ids.at(-1)! + 1000}`), 404, 'not_found');
    expect((await fetch(`${gateway.url}/logs/${ids[0]}`)).status).toBe(200);
  });
});

describe('gateway WebSocket /live', () => {
  const url = (q = '') => `${gateway.url.replace('http', 'ws')}/live${q}`;

  it('reports bad query filters and bad frames as error frames, and stays open', async () => {
    const c = await openWs(url(`?service=${encodeURIComponent("a'b")}`));
    await c.waitFrames(2);
    expect(c.frames[0].type).toBe('hello');
    expect(c.frames[1]).toMatchObject({ type: 'error', error: 'bad_filter' });
    const bad: (string | Buffer)[] = [
      '{"type":"subscribe",',
      'not json',
      '{"type":"unsubscribe"}',
      '{"type":"subscribe","filter":{"level":"verbose"}}',
      '{"type":"subscribe","filter":{"service":"x\'; DROP TABLE logs; --"}}',
      '{"type":"subscribe","filter":{"q":"a\\u0000"}}',
      '{"type":"subscribe","since":-1}',
      '{"type":"subscribe","since":"abc"}',
      `{"type":"subscribe","filter":{"q":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`,
    ];
    for (const f of bad) c.ws.send(f);
    c.ws.send(Buffer.from([0, 1, 2]), { binary: true });
    await c.waitFrames(2 + bad.length + 1);
    for (const f of c.frames.slice(2)) {
      expect(f.type).toBe('error');
      expect(typeof f.error).toBe('string');
      expect(typeof f.message).toBe('string');
    }
    // Still usable: a valid subscription works on the same connection.
    c.ws.send('{"type":"subscribe","filter":{"service":"hostile"},"since":0}');
    await waitFor('replayed rows', () => c.frames.some((f) => f.type === 'logs'));
    expect(c.closed()).toBeUndefined();
    c.ws.close();
  });

  it('answers an upgrade whose query is not UTF-8 with 400', async () => {
    const res = await rawRequest(
      gateway.port,
      'GET /live?q=%FF HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    await expectJsonError(res, 400, 'invalid_utf8');
  });

  it('answers a frame over 64 KiB with an error frame, closes one over 128 KiB or with invalid UTF-8 text, survives a flood, and keeps serving others', async () => {
    const watcher = await connectLive(gateway.url, 'service=hostile&since=0');
    await watcher.waitForIds(5);
    const big = await openWs(url());
    big.ws.send(JSON.stringify({ type: 'subscribe', filter: { q: 'x'.repeat(70_000) } }));
    await waitFor('an error frame after hello', () => big.frames.length >= 2);
    expect(big.frames[1]).toMatchObject({ type: 'error', error: 'bad_frame' });
    expect(big.frames[1].message).toContain('over the limit of 65536');
    expect(big.closed()).toBeUndefined();
    const huge = await openWs(url());
    huge.ws.send(JSON.stringify({ type: 'subscribe', filter: { q: 'x'.repeat(140_000) } }));
    expect([1006, 1009]).toContain(await huge.waitClosed());

    const badText = await openWs(url());
    badText.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x41]), { binary: false }); // invalid UTF-8 in a text frame
    expect([1002, 1006, 1007]).toContain(await badText.waitClosed());

    const flood = await openWs(url());
    for (let i = 0; i < 3_000; i++) flood.ws.send(i % 2 ? 'garbage' : `{"type":"subscribe","filter":{"service":"s${i % 7}"}}`);
    await waitFor('flood answered or closed', () => flood.frames.length >= 1 + 1_500 || flood.closed() !== undefined, 30_000);
    // The other subscriber still gets live rows.
    await t.pool.query(
      `INSERT INTO logs (id, stream_id, "timestamp", received_at, level, service, message) VALUES (nextval('logs_id_seq'), 'live-1', now(), now(), 30, 'hostile', 'after the flood')`,
    );
    await t.pool.query(`SELECT pg_notify($1, '0')`, [t.channel]);
    await watcher.waitForIds(6);
    flood.ws.close();
    await watcher.close();
    expect(gateway.proc.exitCode).toBeNull();
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  });
});
