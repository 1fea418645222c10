// Property tests (fast-check) of the shipper decoders (issue 14): random and mangled input is either decoded or
// refused with the protocol's own error (an HttpError, a SyslogError), never anything else thrown, and what is
// decoded validates or is refused by the shared validation alone.
import fc from 'fast-check';
import snappy from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { HttpError } from '@logstream/shared/errors.js';
import { parseEvent } from '@logstream/shared/event.js';
import { parseBulk } from '../src/elastic-bulk.js';
import { decodeLokiJson, decodeLokiProtobuf, lokiEntryToEvent, parseLabels } from '../src/loki-push.js';
import { decodeOtlp, otlpToEvents } from '../src/otlp-logs.js';
import { lokiPushRequest, otlpExportRequest } from '../src/proto.js';
import { createFramer, parseSyslog, SyslogError } from '../src/syslog-parse.js';

const refusedProperly = (fn: () => unknown, ...allowed: (new (...a: never[]) => Error)[]) => {
  try {
    fn();
  } catch (err) {
    if (!allowed.some((E) => err instanceof E)) throw err;
  }
};

const validated = (raw: unknown) => {
  const r = parseEvent(raw);
  expect(typeof r.ok).toBe('boolean');
};

describe('shipper decoders never throw anything but their protocol errors', () => {
  it('Loki JSON and labels', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ streams: [{ stream: { app: 'a' }, values: [v] }] }))), (text) => {
      refusedProperly(() => decodeLokiJson(text).forEach((e) => validated(lokiEntryToEvent(e))), HttpError);
      refusedProperly(() => parseLabels(text), HttpError);
    }), { numRuns: 1000 });
  });

  it('Loki protobuf, whole and mangled', () => {
    const good = lokiPushRequest.encode(lokiPushRequest.fromObject({ streams: [{ labels: '{app="a", level="warn"}', entries: [{ timestamp: { seconds: 1764180000 }, line: '{"msg":"x","level":35,"err":{"a":1}}' }] }] })).finish();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(good.length), (noise, cut) => {
      for (const body of [Buffer.from(noise), Buffer.from(snappy.compress(Buffer.concat([good.subarray(0, cut), noise]))), Buffer.from(snappy.compress(good))]) {
        refusedProperly(() => decodeLokiProtobuf(body, 1 << 20).forEach((e) => validated(lokiEntryToEvent(e))), HttpError);
      }
    }), { numRuns: 500 });
  });

  it('OTLP JSON and protobuf', () => {
    const anyValue = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.record({ stringValue: fc.string() }), fc.record({ intValue: fc.oneof(fc.string(), fc.integer()) }), fc.record({ doubleValue: fc.double() }), fc.record({ boolValue: fc.boolean() }),
        fc.record({ arrayValue: fc.record({ values: fc.array(tie('v'), { maxLength: 3 }) }) }), fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key: fc.string(), value: tie('v') }), { maxLength: 3 }) }) }), fc.anything()),
    })).v;
    const record = fc.record({ body: anyValue, severityNumber: fc.oneof(fc.integer({ min: -5, max: 30 }), fc.string()), severityText: fc.string(), timeUnixNano: fc.oneof(fc.string(), fc.nat()), attributes: fc.array(fc.record({ key: fc.string(), value: anyValue }), { maxLength: 4 }), traceId: fc.string() }, { requiredKeys: [] });
    const request = fc.record({ resourceLogs: fc.oneof(fc.array(fc.record({ resource: fc.record({ attributes: fc.array(fc.record({ key: fc.constantFrom('service.name', 'host'), value: anyValue }), { maxLength: 2 }) }), scopeLogs: fc.array(fc.record({ logRecords: fc.array(record, { maxLength: 3 }) }), { maxLength: 2 }) }), { maxLength: 2 }), fc.anything()) });
    fc.assert(fc.property(fc.oneof(request, fc.anything()), fc.uint8Array({ maxLength: 100 }), (req, noise) => {
      refusedProperly(() => otlpToEvents(decodeOtlp(Buffer.from(JSON.stringify(req) ?? 'null'), false)).forEach(validated), HttpError);
      refusedProperly(() => otlpToEvents(decodeOtlp(Buffer.from(noise), true)).forEach(validated), HttpError);
    }), { numRuns: 1000 });
    const pb = otlpExportRequest.encode(otlpExportRequest.fromObject({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { kvlistValue: { values: [{ key: 'a', value: { intValue: 1 } }] } } }] }] }] })).finish();
    for (let cut = 0; cut <= pb.length; cut++) refusedProperly(() => otlpToEvents(decodeOtlp(Buffer.from(pb.subarray(0, cut)), true)).forEach(validated), HttpError);
  });

  it('Elasticsearch _bulk', () => {
    const line = fc.oneof(fc.string(), fc.json(), fc.constantFrom('{"create":{}}', '{"index":{"_index":"x"}}', '{"delete":{}}', '{"update":{}}', '{"message":"m","log":{"level":"warn"}}', ''));
    fc.assert(fc.property(fc.array(line, { maxLength: 8 }), (lines) => {
      refusedProperly(() => parseBulk(lines.join('\n'), 'idx').forEach((item) => item.event && validated(item.event)), HttpError);
    }), { numRuns: 1000 });
  });

  it('syslog messages and TCP framing', () => {
    const msg = fc.oneof(fc.string(), fc.constantFrom('<13>1 - - app - - [a b="c"][d] hi', '<191>Nov  2 03:04:05 host app[1]: x', '<0>', '<13>1 2025-13-45T99:99:99Z h a - - - x', '<13>1 - - - - - [unterminated x'));
    fc.assert(fc.property(msg, fc.uint8Array({ maxLength: 300 }), (text, bytes) => {
      refusedProperly(() => validated(parseSyslog(text)), SyslogError);
      const frames: Buffer[] = [];
      const framer = createFramer(100, (f) => frames.push(f), () => {});
      framer.push(Buffer.from(bytes));
      framer.push(Buffer.from(`${Buffer.byteLength(text)} ${text}\n`));
      for (const f of frames) expect(f.length).toBeLessThanOrEqual(100);
    }), { numRuns: 1000 });
  });
});
