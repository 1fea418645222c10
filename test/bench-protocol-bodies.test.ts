// The shippers bench scenario's bodies (bench/lib/protocol-bodies.ts): each protocol's body, read by the producer's
// own decoder, is the bench's 1,000 events with their message, level, service, timestamp and attributes; and two
// bodies of the same events never repeat (those paths derive event ids from the body, so a repeat would be stored
// once and the bench would wait for rows that never come).
import { describe, expect, it } from 'vitest';
import { LEVEL_VALUES } from '@logstream/shared/levels.js';
import { parseEvent, type ValidEvent } from '@logstream/shared/event.js';
import { httpBody, refusedInAnswer, syslogFrames, type HttpProtocol } from '../bench/lib/protocol-bodies.js';
import { benchEvent } from '../bench/lib/payload.js';
import { parseBulk } from '../producer/src/elastic-bulk.js';
import { decodeLokiJson, decodeLokiProtobuf, lokiEntryToEvent } from '../producer/src/loki-push.js';
import { decodeOtlp, otlpToEvents } from '../producer/src/otlp-logs.js';
import { createFramer, parseSyslog } from '../producer/src/syslog-parse.js';

const N = 1000;
const FIRST = 5000;
const BASE_MS = Date.UTC(2026, 11, 1, 12, 0, 0);
const LIMIT = 10 * 1024 * 1024;

function decode(protocol: HttpProtocol, body: Buffer): Record<string, unknown>[] {
  switch (protocol) {
    case 'send-ndjson':
      return body.toString().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    case 'loki-protobuf':
      return decodeLokiProtobuf(body, LIMIT).map((e) => lokiEntryToEvent(e));
    case 'loki-json':
      return decodeLokiJson(body.toString()).map((e) => lokiEntryToEvent(e));
    case 'otlp-protobuf':
      return otlpToEvents(decodeOtlp(body, true));
    case 'otlp-json':
      return otlpToEvents(decodeOtlp(body, false));
    case 'elastic-bulk':
      return parseBulk(body.toString(), undefined).map((item) => {
        expect(item.error).toBeUndefined();
        return item.event!;
      });
  }
}

const valid = (raws: Record<string, unknown>[]): ValidEvent[] =>
  raws.map((raw) => {
    const r = parseEvent(raw);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    return r.event;
  });

/** Every event of the bench, whatever path it took, as message → the fields a row is checked by. */
function expectBenchEvents(events: ValidEvent[], exactTimestamps: boolean): void {
  expect(events).toHaveLength(N);
  const byMessage = new Map(events.map((e) => [e.message, e]));
  for (let i = FIRST; i < FIRST + N; i++) {
    const want = benchEvent(i);
    const got = byMessage.get(want.message);
    expect(got, `event ${i}`).toBeDefined();
    expect(got!.level).toBe(LEVEL_VALUES[want.level]);
    expect(got!.service).toBe(want.service);
    // Syslog structured data and Loki metadata are strings; the others keep the numbers.
    expect(String(got!.attributes.host ?? got!.attributes.hostname)).toBe(want.attributes.host);
    expect(String(got!.attributes.status ?? got!.attributes['bench@32473.status'])).toBe(String(want.attributes.status));
    if (exactTimestamps) expect(got!.ts).toBe(BASE_MS);
  }
}

describe('shippers bench bodies', () => {
  const protocols: HttpProtocol[] = ['send-ndjson', 'loki-protobuf', 'loki-json', 'otlp-protobuf', 'otlp-json', 'elastic-bulk'];

  it.each(protocols)('%s: the decoder reads the bench events back', (protocol) => {
    const { body } = httpBody(protocol, FIRST, N, BASE_MS);
    // Loki and OTLP stamp event j at base + j µs: all within the same millisecond.
    expectBenchEvents(valid(decode(protocol, body)), protocol !== 'send-ndjson');
  });

  it.each(protocols.filter((p) => p !== 'send-ndjson'))('%s: a body of the same events differs when built at another time', (protocol) => {
    const a = httpBody(protocol, FIRST, N, BASE_MS).body;
    expect(httpBody(protocol, FIRST, N, BASE_MS).body.equals(a)).toBe(true);
    expect(httpBody(protocol, FIRST, N, BASE_MS + 1).body.equals(a)).toBe(false);
  });

  it('syslog: octet-counted RFC 5424 frames, read by the producer framer and parser', () => {
    const frames: Buffer[] = [];
    const framer = createFramer(LIMIT, (f) => frames.push(f), () => expect.fail('oversize frame'));
    const stream = syslogFrames(FIRST, N, BASE_MS);
    // Split at an arbitrary byte, as TCP may.
    framer.push(stream.subarray(0, 12_345));
    framer.push(stream.subarray(12_345));
    expectBenchEvents(valid(frames.map((f) => parseSyslog(f.toString()))), true);
  });

  it('tells an answer that refused events from one that took them', () => {
    expect(refusedInAnswer('elastic-bulk', '{"errors":false,"took":1,"items":[]}')).toBeUndefined();
    expect(refusedInAnswer('elastic-bulk', '{"errors":true,"took":1,"items":[{"create":{"status":400}}]}')).toMatch(/refused/);
    expect(refusedInAnswer('otlp-protobuf', '')).toBeUndefined();
    expect(refusedInAnswer('otlp-protobuf', '\n\x02\x08\x01')).toMatch(/partialSuccess/);
    expect(refusedInAnswer('otlp-json', '{}')).toBeUndefined();
    expect(refusedInAnswer('otlp-json', '{"partialSuccess":{"rejectedLogRecords":"3"}}')).toMatch(/partialSuccess/);
  });
});
