// Request bodies of the shipper protocols (issue 14) carrying the bench's events (payload.ts), shaped as the shippers
// send them: Loki push as Promtail/Alloy do (snappy protobuf, one stream per label set, the rest as structured
// metadata) and as pino-loki does (JSON); OTLP as the SDK exporters do (protobuf and JSON, one resource per
// service); Elasticsearch _bulk as Fluent Bit/Vector do (create + document); syslog as rsyslog forwards (RFC 5424,
// octet-counted). Each body is built with the current time: these paths derive event ids from the body (a resend is
// stored once), so a body must never repeat within a run.
import snappy from 'snappyjs';
import { lokiPushRequest, otlpExportRequest } from '../../producer/src/proto.js';
import { benchEvent, type BenchEvent } from './payload.js';

export type HttpProtocol = 'send-ndjson' | 'loki-protobuf' | 'loki-json' | 'otlp-protobuf' | 'otlp-json' | 'elastic-bulk';

export interface HttpBody {
  path: string;
  contentType: string;
  body: Buffer;
}

/** The answer that means every event of the body was accepted. */
export const ACCEPTED_STATUS: Record<HttpProtocol, number> = {
  'send-ndjson': 202,
  'loki-protobuf': 204,
  'loki-json': 204,
  'otlp-protobuf': 200,
  'otlp-json': 200,
  'elastic-bulk': 200,
};

const SEVERITY_NUMBER: Record<BenchEvent['level'], number> = { debug: 5, info: 9, warn: 13, error: 17 };
/** RFC 5424 severities. */
const SYSLOG_SEVERITY: Record<BenchEvent['level'], number> = { debug: 7, info: 6, warn: 4, error: 3 };
const FACILITY_LOCAL0 = 16;

const eventsFrom = (first: number, count: number) => Array.from({ length: count }, (_, j) => benchEvent(first + j));

/** Event j of a body is stamped `base` ms + j µs: distinct, in order, like lines read from a file. */
const nsOf = (baseMs: number, j: number) => BigInt(baseMs) * 1_000_000n + BigInt(j) * 1000n;

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, { x: T; j: number }[]> {
  const out = new Map<string, { x: T; j: number }[]>();
  xs.forEach((x, j) => {
    const k = key(x);
    let g = out.get(k);
    if (!g) out.set(k, (g = []));
    g.push({ x, j });
  });
  return out;
}

function lokiStreams(events: BenchEvent[]) {
  return [...groupBy(events, (e) => `${e.service}\n${e.level}`).values()].map((g) => ({
    service: g[0]!.x.service,
    level: g[0]!.x.level,
    entries: g.map(({ x, j }) => ({ j, line: x.message, metadata: { host: x.attributes.host, status: String(x.attributes.status), duration_ms: String(x.attributes.duration_ms) } })),
  }));
}

const otlpAttr = (key: string, v: string | number) => ({ key, value: typeof v === 'number' ? { intValue: v } : { stringValue: v } });

/** int64 as a decimal string: what OTLP/JSON requires, and what protobufjs takes for a fixed64 (via long). */
function otlpRequest(events: BenchEvent[], baseMs: number) {
  const time = (j: number) => nsOf(baseMs, j).toString();
  return {
    resourceLogs: [...groupBy(events, (e) => e.service).values()].map((g) => ({
      resource: { attributes: [otlpAttr('service.name', g[0]!.x.service)] },
      scopeLogs: [
        {
          scope: { name: 'bench' },
          logRecords: g.map(({ x, j }) => ({
            timeUnixNano: time(j),
            severityNumber: SEVERITY_NUMBER[x.level],
            severityText: x.level.toUpperCase(),
            body: { stringValue: x.message },
            attributes: [otlpAttr('host', x.attributes.host), otlpAttr('status', x.attributes.status), otlpAttr('duration_ms', x.attributes.duration_ms)],
          })),
        },
      ],
    })),
  };
}

/** A body of `count` events numbered from `first`, stamped from `baseMs`. */
export function httpBody(protocol: HttpProtocol, first: number, count: number, baseMs = Date.now()): HttpBody {
  const events = eventsFrom(first, count);
  switch (protocol) {
    case 'send-ndjson':
      return { path: '/send', contentType: 'application/x-ndjson', body: Buffer.from(events.map((e) => JSON.stringify(e)).join('\n')) };
    case 'loki-protobuf': {
      const streams = lokiStreams(events).map((s) => ({
        labels: `{service="${s.service}", level="${s.level}", env="bench"}`,
        entries: s.entries.map((e) => {
          const ns = nsOf(baseMs, e.j);
          return {
            timestamp: { seconds: Number(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) },
            line: e.line,
            structuredMetadata: Object.entries(e.metadata).map(([name, value]) => ({ name, value })),
          };
        }),
      }));
      const raw = lokiPushRequest.encode(lokiPushRequest.fromObject({ streams })).finish();
      return { path: '/loki/api/v1/push', contentType: 'application/x-protobuf', body: Buffer.from(snappy.compress(raw)) };
    }
    case 'loki-json': {
      const streams = lokiStreams(events).map((s) => ({
        stream: { service: s.service, level: s.level, env: 'bench' },
        values: s.entries.map((e) => [nsOf(baseMs, e.j).toString(), e.line, e.metadata]),
      }));
      return { path: '/loki/api/v1/push', contentType: 'application/json', body: Buffer.from(JSON.stringify({ streams })) };
    }
    case 'otlp-protobuf': {
      const req = otlpExportRequest.fromObject(otlpRequest(events, baseMs));
      return { path: '/v1/logs', contentType: 'application/x-protobuf', body: Buffer.from(otlpExportRequest.encode(req).finish()) };
    }
    case 'otlp-json':
      return { path: '/v1/logs', contentType: 'application/json', body: Buffer.from(JSON.stringify(otlpRequest(events, baseMs))) };
    case 'elastic-bulk': {
      const action = JSON.stringify({ create: { _index: 'bench' } });
      const timestamp = new Date(baseMs).toISOString();
      const lines = events.map((e) =>
        `${action}\n${JSON.stringify({
          '@timestamp': timestamp,
          message: e.message,
          'log.level': e.level,
          'service.name': e.service,
          ...e.attributes,
        })}\n`,
      );
      return { path: '/_bulk', contentType: 'application/x-ndjson', body: Buffer.from(lines.join('')) };
    }
  }
}

/** An error message when an answer with the accepted status still refused events (OTLP partialSuccess, _bulk errors). */
export function refusedInAnswer(protocol: HttpProtocol, body: string): string | undefined {
  if (protocol === 'elastic-bulk' && /"errors"\s*:\s*true/.test(body)) return `_bulk items refused: ${body.slice(0, 200)}`;
  if (protocol === 'otlp-json' && /rejectedLogRecords/.test(body)) return `OTLP partialSuccess: ${body.slice(0, 200)}`;
  // An empty ExportLogsServiceResponse is 0 bytes; a partialSuccess is not.
  if (protocol === 'otlp-protobuf' && body.length > 0) return `OTLP partialSuccess (${body.length} bytes)`;
  return undefined;
}

/** `count` RFC 5424 messages, octet-counted (RFC 6587 §3.4.1), as rsyslog's omfwd sends them with TCP_Framing. */
export function syslogFrames(first: number, count: number, baseMs = Date.now()): Buffer {
  const out: string[] = [];
  const ts = new Date(baseMs).toISOString();
  eventsFrom(first, count).forEach((e) => {
    const pri = FACILITY_LOCAL0 * 8 + SYSLOG_SEVERITY[e.level];
    const sd = `[bench@32473 status="${e.attributes.status}" duration_ms="${e.attributes.duration_ms}"]`;
    const msg = `<${pri}>1 ${ts} ${e.attributes.host} ${e.service} 4242 - ${sd} ${e.message}`;
    out.push(`${Buffer.byteLength(msg)} ${msg}`);
  });
  return Buffer.from(out.join(''));
}
