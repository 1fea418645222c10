// Loki push (issue 14 point 1) with the real pino-loki transport, a snappy protobuf PushRequest built from Loki's
// push.proto, and gzip JSON; rows read back through the gateway's /logs with every mapped field checked.
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { pinoLoki } from 'pino-loki';
import snappy from 'snappyjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lokiPushRequest } from '../../producer/src/proto.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/test-env.js';

const TOKEN = 'loki-token';
let s: Stack;

beforeAll(async () => {
  s = await startStack('loki', { INGEST_TOKENS: TOKEN });
});
afterAll(async () => s?.stop());

const push = (body: BodyInit, headers: Record<string, string>) =>
  fetch(`${s.producer.url}/loki/api/v1/push`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, ...headers }, body });

const protobufBody = (req: object) => Buffer.from(snappy.compress(lokiPushRequest.encode(lokiPushRequest.fromObject(req)).finish()));

describe('Loki push', () => {
  it('stores what pino-loki sends, batched, with basic auth', async () => {
    const transport = pinoLoki({ host: s.producer.url, labels: { app: 'pino-loki-app', env: 'test' }, basicAuth: { username: 'loki', password: TOKEN }, batching: { interval: 0.2 } });
    const log = pino({ level: 'trace', customLevels: { audit: 35 } }, transport);
    const before = Date.now();
    log.trace('tracing');
    log.warn({ reqId: 'r-1', user: { id: 7, name: 'ana' } }, 'slow request');
    log.error({ err: new Error('disk full') }, 'write failed');
    log.audit('audited');
    const rows = await s.waitLogs(4, { service: 'pino-loki-app' });
    transport.end();
    expect(rows.map((r) => [r.message, r.level])).toEqual([['tracing', 'trace'], ['slow request', 'warn'], ['write failed', 'error'], ['audited', 'info']]);
    for (const r of rows) {
      expect(r.service).toBe('pino-loki-app');
      expect(r.attributes).toMatchObject({ env: 'test', pid: process.pid });
      expect(typeof r.attributes.hostname).toBe('string');
      expect(r.attributes.level).toBeUndefined(); // the level label was read, not kept
      expect(Date.parse(r.timestamp)).toBeGreaterThanOrEqual(before - 5);
      expect(Date.parse(r.timestamp)).toBeLessThanOrEqual(Date.parse(r.received_at));
    }
    expect(rows[1]!.attributes).toMatchObject({ reqId: 'r-1', 'user.id': 7, 'user.name': 'ana' });
    expect(rows[2]!.attributes).toMatchObject({ 'err.type': 'Error', 'err.message': 'disk full' });
    expect(String(rows[2]!.attributes['err.stack'])).toContain('Error: disk full');
    expect(rows[3]!.attributes.level_number).toBe(35);
    const metrics = await (await fetch(`${s.producer.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metrics).toMatch(/logstream_events_accepted_total\{transport="loki"[^}]*\} 4\n/);
  });

  it('stores a snappy protobuf PushRequest: labels, structured metadata, nanosecond timestamps', async () => {
    const res = await push(
      protobufBody({
        streams: [
          {
            labels: '{service_name="proto-svc", detected_level="warning", env="prod", path="a \\"quoted\\" \\\\ value"}',
            entries: [
              { timestamp: { seconds: 1764180000, nanos: 123_456_789 }, line: 'first proto line', structuredMetadata: [{ name: 'trace_id', value: 'abc123' }] },
              { timestamp: { seconds: 1764180001, nanos: 999_999_999 }, line: 'second proto line' },
            ],
          },
          { labels: '{app="proto-svc", level="ERROR"}', entries: [{ timestamp: { seconds: 1764180002, nanos: 0 }, line: 'third proto line' }] },
        ],
      }),
      { 'content-type': 'application/x-protobuf', 'x-scope-orgid': 'tenant-a' },
    );
    expect(res.status, await res.clone().text()).toBe(204);
    expect(await res.text()).toBe('');
    const rows = await s.waitLogs(3, { service: 'proto-svc' });
    expect(rows.map((r) => [r.message, r.level, r.timestamp])).toEqual([
      ['first proto line', 'warn', '2025-11-26T18:00:00.123Z'],
      ['second proto line', 'warn', '2025-11-26T18:00:01.999Z'],
      ['third proto line', 'error', '2025-11-26T18:00:02.000Z'],
    ]);
    expect(rows[0]!.attributes).toEqual({ env: 'prod', path: 'a "quoted" \\ value', trace_id: 'abc123', tenant: 'tenant-a' });
    expect(rows[1]!.attributes).toEqual({ env: 'prod', path: 'a "quoted" \\ value', tenant: 'tenant-a' });
    expect(rows[2]!.attributes).toEqual({ tenant: 'tenant-a' });
  });

  it('stores gzip JSON: the first service label wins, the others and an unknown level are kept', async () => {
    const body = { streams: [{ stream: { job: 'varlogs', container: 'nginx', detected_level: 'unknown', filename: '/var/log/x.log' }, values: [['1764180003000000000', 'plain text line', { pod: 'p-1' }]] }] };
    const res = await push(gzipSync(JSON.stringify(body)), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.status, await res.clone().text()).toBe(204);
    const [row] = await s.waitLogs(1, { service: 'varlogs' });
    expect(row).toMatchObject({ message: 'plain text line', level: 'info', service: 'varlogs', timestamp: '2025-11-26T18:00:03.000Z' });
    expect(row!.attributes).toEqual({ container: 'nginx', detected_level: 'unknown', filename: '/var/log/x.log', pod: 'p-1' });
  });

  it('refuses bad pushes with the reason and stores nothing of them', async () => {
    const before = await s.t.redis.xlen(s.t.stream);
    const good = lokiPushRequest.encode(lokiPushRequest.fromObject({ streams: [{ labels: '{app="bad"}', entries: [{ timestamp: { seconds: 1764180000 }, line: 'never stored' }] }] })).finish();
    const cases: [BodyInit, Record<string, string>, number, RegExp][] = [
      [Buffer.from(snappy.compress(good.subarray(0, good.length - 5))), { 'content-type': 'application/x-protobuf' }, 400, /protobuf/],
      [Buffer.from(good), { 'content-type': 'application/x-protobuf' }, 400, /snappy/],
      [Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]), { 'content-type': 'application/x-protobuf' }, 400, /snappy/],
      [protobufBody({ streams: [{ labels: 'app=bad', entries: [{ line: 'x' }] }] }), { 'content-type': 'application/x-protobuf' }, 400, /label set/],
      ['{"streams":[{"stream":{"app":"bad"},"values":[["1764180000000000000"', { 'content-type': 'application/json' }, 400, /malformed JSON/],
      ['{"streams":[{"stream":{"app":"bad"},"values":[[1764180000, "x"]]}]}', { 'content-type': 'application/json' }, 400, /nanoseconds/],
      ['{"streams":[{"stream":{"app":"bad"},"values":[["1764180000000000000", "ok"], ["1764180000000000000", ""]]}]}', { 'content-type': 'application/json' }, 400, /empty/],
      [Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' }, 400, /gzip/],
      ['{}', { 'content-type': 'text/xml' }, 415, /not supported/],
    ];
    for (const [body, headers, status, message] of cases) {
      const res = await push(body, headers);
      const text = await res.text();
      expect(res.status, text).toBe(status);
      const json = JSON.parse(text) as { error: string; message: string };
      expect(json.message).toMatch(message);
    }
    const unauth = await fetch(`${s.producer.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"streams":[]}' });
    expect(unauth.status).toBe(401);
    await unauth.arrayBuffer();
    // A known-good push afterwards lands, so "nothing stored" above is not just a stalled pipeline.
    expect((await push(JSON.stringify({ streams: [{ stream: { app: 'bad-after' }, values: [['1764180000000000000', 'after']] }] }), { 'content-type': 'application/json' })).status).toBe(204);
    await waitFor('the good push', async () => (await s.t.redis.xlen(s.t.stream)) === before + 1);
    expect((await s.logs({ service: 'bad' })).length).toBe(0);
  });
});
