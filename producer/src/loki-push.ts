// Loki push (issue 14 point 1): POST /loki/api/v1/push as Promtail, Grafana Alloy, pino-loki, Fluent Bit's `loki`
// output and Vector's `loki` sink send it: JSON (optionally gzip) or snappy-compressed protobuf PushRequest
// (producer/proto/loki/push.proto). Each entry becomes one raw event for the shared ingest; success is 204.
//
// Mapping: the first of SERVICE_LABELS → service; the first of LEVEL_LABELS → level (kept as an attribute when it is
// no level logstream knows, such as detected_level "unknown"); every other label, structured metadata and the
// X-Scope-OrgID tenant → attributes; the entry's nanosecond timestamp → timestamp (milliseconds, as stored). A line
// that is a JSON object (pino-loki sends the whole pino line) is read like a pino line: msg or message → message,
// its level (more precise than pino-loki's level label) → level, its other fields → attributes.
import snappy from 'snappyjs';
import { snappyFramingValid } from './snappy-guard.js';
import { badRequest, HttpError, unauthorized, unsupportedType } from '@logstream/shared/errors.js';
import { presentedToken, tokenAllowed } from '@logstream/shared/auth.js';
import { MAX_BATCH_EVENTS } from '@logstream/shared/event.js';
import { timedRoute } from '@logstream/shared/http-routes.js';
import { decodeUtf8, parseQuery, readBody, sendRaw, type TemplatedApp } from '@logstream/shared/uws.js';
import type { IngestContext } from './ingest-context.js';
import { lokiPushRequest } from './proto.js';
import { bodyEventIds, decodeContentEncoding, mediaType } from './shipper-body.js';
import { firstKey, knownLevel, serviceName } from './shipper-fields.js';

export const SERVICE_LABELS = ['service', 'service_name', 'app', 'application', 'job', 'container'] as const;
export const LEVEL_LABELS = ['level', 'detected_level', 'severity', 'lvl'] as const;

const tooMany = () => new HttpError(400, 'too_many_events', `more than ${MAX_BATCH_EVENTS} entries in one push; send smaller batches`);

/** One Loki entry: labels of its stream, its line, its timestamp in epoch ms, and its structured metadata. */
interface LokiEntry {
  labels: Record<string, string>;
  line: string;
  ms: number;
  metadata?: Record<string, string>;
}

/** Nanoseconds since the epoch (a decimal string) → epoch ms; undefined when it is not one. */
function nsToMs(ns: unknown): number | undefined {
  if (typeof ns !== 'string' || !/^\d{1,20}$/.test(ns)) return undefined;
  return Number(BigInt(ns) / 1_000_000n);
}

/** Prometheus label-set text, as the protobuf push carries it: `{app="web", env="prod"}`. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const s = text.trim();
  if (!s.startsWith('{') || !s.endsWith('}')) throw badRequest(`labels ${JSON.stringify(s.slice(0, 100))} are not a label set like {app="web"}`);
  const re = /\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  const body = s.slice(1, -1);
  // Sticky expressions from the current position: no slice per pair, which made a large label set quadratic (a
  // 42-byte snappy body expanding to 1 MB of label text took 45 s; producer/test/shipper-decoders.property.test.ts).
  const rest = /\s*$/y;
  re.lastIndex = 0;
  while (re.lastIndex < body.length) {
    rest.lastIndex = re.lastIndex;
    if (rest.test(body)) break;
    const m = re.exec(body);
    if (!m) throw badRequest(`labels ${JSON.stringify(s.slice(0, 100))} are not a label set like {app="web"}`);
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c));
  }
  return out;
}

/** `{"streams":[{"stream":{labels},"values":[["<ns>","line",{metadata}?],…]}]}` */
export function decodeLokiJson(text: string): LokiEntry[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw badRequest(`malformed JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  const streams = (body as { streams?: unknown })?.streams;
  if (!Array.isArray(streams)) throw badRequest('a Loki push is {"streams":[{"stream":{…labels},"values":[["<unix ns>","line"]]}]}');
  const out: LokiEntry[] = [];
  streams.forEach((stream: { stream?: unknown; values?: unknown }, i) => {
    const labels = stream?.stream ?? {};
    if (labels === null || typeof labels !== 'object' || Array.isArray(labels) || !Object.values(labels).every((v) => typeof v === 'string')) {
      throw badRequest(`streams[${i}].stream must be an object of string labels`);
    }
    if (!Array.isArray(stream.values)) throw badRequest(`streams[${i}].values must be an array of ["<unix ns>","line"] pairs`);
    stream.values.forEach((value: unknown, j) => {
      const where = `streams[${i}].values[${j}]`;
      if (!Array.isArray(value) || value.length < 2 || value.length > 3) throw badRequest(`${where} must be ["<unix ns>","line"] or ["<unix ns>","line",{metadata}]`);
      const ms = nsToMs(value[0]);
      if (ms === undefined) throw badRequest(`${where}[0] must be the time in nanoseconds since the epoch, as a string`);
      if (typeof value[1] !== 'string') throw badRequest(`${where}[1], the line, must be a string`);
      const metadata = value[2];
      if (metadata !== undefined && (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))) throw badRequest(`${where}[2], structured metadata, must be an object`);
      if (out.length >= MAX_BATCH_EVENTS) throw tooMany();
      out.push({ labels: labels as Record<string, string>, line: value[1], ms, metadata: metadata as Record<string, string> | undefined });
    });
  });
  return out;
}

/** Snappy-compressed protobuf PushRequest. */
export function decodeLokiProtobuf(body: Buffer, limit: number): LokiEntry[] {
  let raw: Uint8Array;
  const notSnappy = () => badRequest('body is not snappy-compressed data (a protobuf push is a snappy block-compressed PushRequest)');
  if (!snappyFramingValid(body)) throw notSnappy();
  try {
    raw = snappy.uncompress(body, limit);
  } catch (err) {
    if (/too big/.test((err as Error).message)) throw new HttpError(413, 'payload_too_large', `the snappy body expands past the limit of ${limit} bytes; send smaller batches`);
    throw notSnappy();
  }
  // The decoded message is read as it is, not through toObject (as for OTLP, otlp-logs.ts): its unset fields are
  // defaults on the prototype, which read as absent here except `labels`, hence the own-property check.
  let req: { streams?: { labels?: string; entries?: { timestamp?: { seconds?: { toNumber(): number }; nanos?: number }; line?: string; structuredMetadata?: { name?: string; value?: string }[] }[] }[] };
  try {
    req = lokiPushRequest.decode(raw) as typeof req;
  } catch (err) {
    throw badRequest(`malformed protobuf PushRequest: ${(err as Error).message.slice(0, 200)}`);
  }
  const out: LokiEntry[] = [];
  for (const stream of req.streams ?? []) {
    const labels = parseLabels(Object.hasOwn(stream, 'labels') ? stream.labels! : '{}');
    for (const entry of stream.entries ?? []) {
      if (out.length >= MAX_BATCH_EVENTS) throw tooMany();
      // An int64 decodes as a Long (a number without the `long` package); toNumber rounds as Number(decimal) did.
      const s = entry.timestamp?.seconds;
      const seconds = s === undefined ? 0 : typeof s === 'number' ? s : s.toNumber();
      const ms = seconds * 1000 + Math.floor((entry.timestamp?.nanos ?? 0) / 1e6);
      let metadata: Record<string, string> | undefined;
      for (const pair of entry.structuredMetadata ?? []) (metadata ??= {})[pair.name ?? ''] = pair.value ?? '';
      out.push({ labels, line: entry.line ?? '', ms, metadata });
    }
  }
  return out;
}

const LINE_KNOWN = new Set(['msg', 'message', 'level', 'time', 'timestamp', 'service']);

/** One entry → a raw event for the shared validation. */
export function lokiEntryToEvent(entry: LokiEntry, tenant?: string): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  let message: unknown = entry.line;
  let level: unknown;
  const trimmed = entry.line.trimStart();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(entry.line);
    } catch {
      // not JSON after all: the line is the message
    }
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const line = parsed as Record<string, unknown>;
      const text = typeof line.msg === 'string' ? line.msg : typeof line.message === 'string' ? line.message : undefined;
      if (text !== undefined && text !== '') {
        message = text;
        for (const [k, v] of Object.entries(line)) if (!LINE_KNOWN.has(k)) attributes[k] = v;
        if (typeof line.msg === 'string' && line.message !== undefined) attributes.message = line.message;
        if (line.service !== undefined) attributes.service = line.service;
        if (knownLevel(line.level)) level = line.level;
        else if (line.level !== undefined) attributes.level = line.level;
      }
    }
  }
  const labels = entry.labels;
  const serviceKey = firstKey(labels, SERVICE_LABELS);
  const levelKey = firstKey(labels, LEVEL_LABELS);
  for (const [k, v] of Object.entries(labels)) if (k !== serviceKey && (k !== levelKey || !knownLevel(v))) attributes[k] = v;
  if (entry.metadata) for (const [k, v] of Object.entries(entry.metadata)) attributes[k] = v;
  if (tenant) attributes.tenant = tenant;
  if (level === undefined && levelKey && knownLevel(labels[levelKey])) level = labels[levelKey];
  const service = serviceKey ? serviceName(labels[serviceKey]) : typeof attributes.service === 'string' ? serviceName(attributes.service) : undefined;
  if (serviceKey === undefined && service !== undefined) delete attributes.service;
  // Assigned, not spread together: an object built by spreads is off V8's usual shapes and slow to read (issue 14).
  const event: Record<string, unknown> = { message };
  if (level !== undefined) event.level = level;
  if (service) event.service = service;
  if (entry.ms > 0) event.timestamp = entry.ms;
  event.attributes = attributes;
  return event;
}

export function mountLoki(app: TemplatedApp, ctx: IngestContext): void {
  const handler = timedRoute(ctx.log, ctx.metrics.requestDuration, 'POST /loki/api/v1/push', async (res, req, state) => {
    // Everything the request says is read before the first await: uWS invalidates `req` after this tick.
    const type = mediaType(req.getHeader('content-type'));
    const encoding = req.getHeader('content-encoding');
    const length = req.getHeader('content-length');
    const tenant = req.getHeader('x-scope-orgid');
    const token = presentedToken(req.getHeader('authorization'), parseQuery(req.getQuery()).get('token'));
    if (!tokenAllowed(ctx.cfg.INGEST_TOKENS, token)) throw unauthorized();
    const protobuf = type === 'application/x-protobuf' || type === 'application/protobuf';
    if (!protobuf && type !== 'application/json' && type !== '') throw unsupportedType(type);
    const body = await readBody(res, state, ctx.cfg.MAX_BODY_BYTES, length ? Number(length) : undefined);
    const entries = protobuf
      ? decodeLokiProtobuf(decodeContentEncoding(body, encoding, ctx.cfg.MAX_BODY_BYTES), ctx.cfg.MAX_BODY_BYTES)
      : decodeLokiJson(decodeUtf8(decodeContentEncoding(body, encoding, ctx.cfg.MAX_BODY_BYTES)));
    if (entries.length > 0) await ctx.ingest(entries.map((e) => lokiEntryToEvent(e, tenant || undefined)), token, 'loki', bodyEventIds('loki', token, body));
    sendRaw(res, state, 204, '', 'text/plain');
  }, ctx.countRejection);
  app.post('/loki/api/v1/push', handler);
  // The path of Loki before 2.0, which older Promtail and Docker driver configurations still use.
  app.post('/api/prom/push', handler);
}
