// OTLP/HTTP logs (issue 14 point 2): POST /v1/logs as the OpenTelemetry SDKs, the Collector's otlphttp exporter
// and pino-opentelemetry-transport send it: ExportLogsServiceRequest as protobuf or JSON (lowerCamelCase names,
// hex trace/span ids, int64 as strings), optionally gzip (producer/proto/opentelemetry/…, opentelemetry-proto).
//
// Mapping: resource attribute service.name → service; severityNumber 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn,
// 17-20 error, 21-24 fatal (severityText when the number is unset); body → message (a string as it is, any other
// value as JSON; the event name when there is no body); resource, scope and record attributes (later wins), the
// scope as otel.scope.name/otel.scope.version, traceId/spanId as trace_id/span_id → attributes; timeUnixNano
// (else observedTimeUnixNano) → timestamp.
//
// Answers follow the OTLP spec: 200 with an ExportLogsServiceResponse, whose partialSuccess counts the records that
// failed validation (the valid ones are stored); 400 for a body that cannot be decoded; 429 and 503 with
// Retry-After (retryable); every error body a google.rpc.Status in the request's encoding.
import { capHttp } from '@logstream/shared/http-cap.js';
import { presentedToken, tokenAllowed } from '@logstream/shared/auth.js';
import { badRequest, HttpError, isConnectionError, notFound, unauthorized, unavailable, unsupportedType } from '@logstream/shared/errors.js';
import { MAX_BATCH_EVENTS, parseEvent, type ValidEvent } from '@logstream/shared/event.js';
import { LEVEL_VALUES } from '@logstream/shared/levels.js';
import { route } from '@logstream/shared/http-routes.js';
import { answerPreflight, decodeUtf8, loadUws, parseQuery, readBody, sendRaw, type HttpRequest, type HttpResponse, type ResState, type TemplatedApp } from '@logstream/shared/uws.js';
import type { IngestContext } from './ingest-context.js';
import { otlpExportRequest, otlpExportResponse, rpcStatus } from './proto.js';
import { bodyEventIds, decodeContentEncoding, mediaType } from './shipper-body.js';
import { knownLevel, serviceName } from './shipper-fields.js';

/** A protobuf int64 as protobufjs decodes it (a Long of the `long` package). */
type Int64 = { low: number; high: number; unsigned: boolean; toNumber(): number; toString(): string };
type AnyValue = {
  stringValue?: string; boolValue?: boolean; intValue?: string | number | Int64; doubleValue?: number | string;
  arrayValue?: { values?: AnyValue[] }; kvlistValue?: { values?: KeyValue[] }; bytesValue?: string | Uint8Array;
};
type KeyValue = { key?: string; value?: AnyValue };
interface LogRecord {
  timeUnixNano?: string | number | Int64; observedTimeUnixNano?: string | number | Int64; severityNumber?: number | string; severityText?: string;
  body?: AnyValue; attributes?: KeyValue[]; traceId?: string | Uint8Array; spanId?: string | Uint8Array; eventName?: string;
}
interface ExportRequest {
  resourceLogs?: { resource?: { attributes?: KeyValue[] }; scopeLogs?: { scope?: { name?: string; version?: string; attributes?: KeyValue[] }; logRecords?: LogRecord[] }[] }[];
}

/** The six levels by severityNumber range (OTel logs data model, "Field: SeverityNumber"). */
const SEVERITY_LEVELS = [LEVEL_VALUES.trace, LEVEL_VALUES.debug, LEVEL_VALUES.info, LEVEL_VALUES.warn, LEVEL_VALUES.error, LEVEL_VALUES.fatal];

const hex = (v: string | Uint8Array | undefined) => (v === undefined || v.length === 0 ? undefined : typeof v === 'string' ? v.toLowerCase() : Buffer.from(v).toString('hex'));

/** Only protobufjs makes these: a JSON value has no methods. */
const isInt64 = (v: unknown): v is Int64 => typeof (v as Int64 | null)?.toNumber === 'function';

/**
 * An AnyValue as a plain value: kvlists as objects (flattened later), arrays as arrays, bytes as base64. A decoded
 * protobuf message is read as it is, not through toObject (3.3 ms per 1,000 records, issue 14): it carries the
 * oneof's unset members as defaults on its prototype, so a member counts only as an own property, which is also
 * what a JSON value has.
 */
function plain(v: AnyValue | undefined, depth = 0): unknown {
  if (v === undefined || v === null) return null;
  // The load first, the own-property call only for a member that is there (a JSON value's absent ones cost none).
  if (depth > 64) return null;
  if (v.stringValue !== undefined && Object.hasOwn(v, 'stringValue')) return v.stringValue;
  if (v.boolValue !== undefined && Object.hasOwn(v, 'boolValue')) return v.boolValue;
  if (v.intValue !== undefined && Object.hasOwn(v, 'intValue')) {
    const int = v.intValue!;
    const n = isInt64(int) ? int.toNumber() : Number(int);
    return Number.isSafeInteger(n) ? n : String(int);
  }
  if (v.doubleValue !== undefined && Object.hasOwn(v, 'doubleValue')) {
    const n = Number(v.doubleValue);
    return Number.isFinite(n) ? n : String(v.doubleValue);
  }
  if (v.arrayValue !== undefined && Object.hasOwn(v, 'arrayValue')) return (v.arrayValue!.values ?? []).map((x) => plain(x, depth + 1));
  if (v.kvlistValue !== undefined && Object.hasOwn(v, 'kvlistValue')) return Object.fromEntries(keyValues(v.kvlistValue!.values, depth + 1));
  if (v.bytesValue !== undefined && Object.hasOwn(v, 'bytesValue')) return typeof v.bytesValue === 'string' ? v.bytesValue : Buffer.from(v.bytesValue!).toString('base64');
  return null;
}

function keyValues(list: KeyValue[] | undefined, depth = 0, into = new Map<string, unknown>()): Map<string, unknown> {
  for (const kv of list ?? []) if (kv?.key) into.set(kv.key, plain(kv.value, depth));
  return into;
}

/** 2^32 ns = 4294 ms + 967296 ns: a fixed64's two halves → ms with no BigInt and no string (exact below 2^53). */
function int64NanosToMs(v: Int64): number {
  const high = v.high >>> 0;
  const rest = high * 967_296 + (v.low >>> 0);
  return high * 4294 + (rest - (rest % 1_000_000)) / 1_000_000;
}

function nanosToMs(v: string | number | Int64 | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (isInt64(v)) {
    // A fixed64 is unsigned; a signed Long here would be no OTLP field.
    if (!v.unsigned) return nanosToMs(v.toString());
    const ms = int64NanosToMs(v);
    return ms > 0 ? ms : undefined;
  }
  const s = String(v);
  if (!/^\d{1,20}$/.test(s)) return undefined;
  const ms = Number(BigInt(s) / 1_000_000n);
  return ms > 0 ? ms : undefined;
}

function levelOf(record: LogRecord): { level?: unknown; keep?: string } {
  const n = Number(record.severityNumber ?? 0);
  if (Number.isInteger(n) && n >= 1 && n <= 24) return { level: SEVERITY_LEVELS[Math.floor((n - 1) / 4)] };
  const text = record.severityText;
  if (text === undefined || text === '') return {};
  return knownLevel(text) && !/^\d/.test(text) ? { level: text } : { keep: text };
}

/** `o[key] = value` as an own property even for "__proto__" (which assignment would take as the prototype). */
function put(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

/**
 * Every record of a request as a raw event, in order. Each record's attributes start as a copy of its scope's
 * (an object, not a Map per record turned into one: otlpToEvents was 10% of the OTLP path's CPU).
 */
export function otlpToEvents(req: ExportRequest): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const rl of req.resourceLogs ?? []) {
    const resource = keyValues(rl?.resource?.attributes);
    const service = resource.get('service.name');
    resource.delete('service.name');
    const serviceField = typeof service === 'string' && service !== '' ? serviceName(service) : undefined;
    for (const sl of rl?.scopeLogs ?? []) {
      const scoped = keyValues(sl?.scope?.attributes, 0, new Map(resource));
      if (sl?.scope?.name) scoped.set('otel.scope.name', sl.scope.name);
      if (sl?.scope?.version) scoped.set('otel.scope.version', sl.scope.version);
      const scopedAttributes = [...scoped];
      for (const record of sl?.logRecords ?? []) {
        if (out.length >= MAX_BATCH_EVENTS) throw new HttpError(400, 'too_many_events', `more than ${MAX_BATCH_EVENTS} log records in one request; send smaller batches`);
        // Copied key by key: an object spread made an object that every later key slowed tenfold (V8 leaves it off
        // the usual shape transitions), 12% of the OTLP path.
        const attributes: Record<string, unknown> = {};
        for (const [k, v] of scopedAttributes) put(attributes, k, v);
        for (const kv of record?.attributes ?? []) if (kv?.key) put(attributes, kv.key, plain(kv.value));
        const traceId = hex(record.traceId);
        const spanId = hex(record.spanId);
        if (traceId) attributes.trace_id = traceId;
        if (spanId) attributes.span_id = spanId;
        const { level, keep } = levelOf(record);
        if (keep !== undefined) attributes.severity_text = keep;
        const body = plain(record.body);
        let message: unknown = typeof body === 'string' ? body : body === null ? (record.eventName || undefined) : JSON.stringify(body);
        if (record.eventName && message !== record.eventName) attributes['event.name'] = record.eventName;
        if (message === undefined) message = '';
        const ts = nanosToMs(record.timeUnixNano) ?? nanosToMs(record.observedTimeUnixNano);
        const event: Record<string, unknown> = { message };
        if (level !== undefined) event.level = level;
        if (serviceField !== undefined) event.service = serviceField;
        if (ts !== undefined) event.timestamp = ts;
        event.attributes = attributes;
        out.push(event);
      }
    }
  }
  return out;
}

export function decodeOtlp(body: Buffer, protobuf: boolean): ExportRequest {
  if (protobuf) {
    try {
      return otlpExportRequest.decode(body) as ExportRequest;
    } catch (err) {
      throw badRequest(`malformed protobuf ExportLogsServiceRequest: ${(err as Error).message.slice(0, 200)}`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(decodeUtf8(body));
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw badRequest(`malformed JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || (value as ExportRequest).resourceLogs !== undefined && !Array.isArray((value as ExportRequest).resourceLogs)) {
    throw badRequest('an OTLP logs request is {"resourceLogs":[{"resource":{…},"scopeLogs":[{"logRecords":[…]}]}]}');
  }
  // Shapes are checked where they are read: a record that is not an object fails validation on its own.
  return value as ExportRequest;
}

function answer(res: HttpResponse, state: ResState, protobuf: boolean, status: number, body: { rejected?: number; message?: string; code?: number }, headers: Record<string, string> = {}) {
  if (status === 200) {
    const partial = body.rejected ? { rejectedLogRecords: String(body.rejected), errorMessage: body.message ?? '' } : undefined;
    if (protobuf) sendRaw(res, state, 200, otlpExportResponse.encode(otlpExportResponse.fromObject(partial ? { partialSuccess: partial } : {})).finish(), 'application/x-protobuf');
    else sendRaw(res, state, 200, JSON.stringify(partial ? { partialSuccess: partial } : {}), 'application/json');
    return;
  }
  // google.rpc.Code: 3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE, 16 UNAUTHENTICATED.
  const status_ = { code: body.code ?? 3, message: body.message ?? '' };
  // After a 413 the rest of the body is not read: close the connection instead of draining it.
  if (protobuf) sendRaw(res, state, status, rpcStatus.encode(rpcStatus.fromObject(status_)).finish(), 'application/x-protobuf', headers, status === 413);
  else sendRaw(res, state, status, JSON.stringify(status_), 'application/json', headers, status === 413);
}

const RPC_CODE: Record<number, number> = { 400: 3, 401: 16, 413: 3, 415: 3, 429: 8, 503: 14 };

/** The /v1/logs handler, for the producer's port and for OTLP_HTTP_PORT. */
export function otlpHandler(ctx: IngestContext): (res: HttpResponse, req: HttpRequest) => void {
  return route(ctx.log, async (res, req, state) => {
    const end = ctx.metrics.requestDuration.startTimer({ route: 'POST /v1/logs' });
    const type = mediaType(req.getHeader('content-type'));
    const protobuf = type !== 'application/json';
    try {
      const encoding = req.getHeader('content-encoding');
      const length = req.getHeader('content-length');
      const token = presentedToken(req.getHeader('authorization'), parseQuery(req.getQuery()).get('token'));
      if (!tokenAllowed(ctx.cfg.INGEST_TOKENS, token)) throw unauthorized();
      if (type !== 'application/x-protobuf' && type !== 'application/protobuf' && type !== 'application/json') throw unsupportedType(type);
      const body = decodeContentEncoding(await readBody(res, state, ctx.cfg.MAX_BODY_BYTES, length ? Number(length) : undefined), encoding, ctx.cfg.MAX_BODY_BYTES);
      const raws = otlpToEvents(decodeOtlp(body, protobuf));
      const valid: ValidEvent[] = [];
      let rejected = 0;
      let firstProblem = '';
      raws.forEach((raw, i) => {
        const r = parseEvent(raw, i);
        if (r.ok) valid.push(r.event);
        else {
          rejected++;
          firstProblem ||= `log record ${i}: ${r.issues[0]?.path ? `${r.issues[0].path}: ` : ''}${r.issues[0]?.message ?? 'invalid'}`;
        }
      });
      if (valid.length > 0) await ctx.publish(valid, token, 'otlp', bodyEventIds('otlp', token, body));
      if (rejected > 0) ctx.metrics.rejected.inc({ reason: 'invalid_event' }, 1);
      answer(res, state, protobuf, 200, { rejected, message: rejected ? `${rejected} of ${raws.length} log records rejected; the others were stored. First: ${firstProblem}` : undefined });
      end({ status: '200' });
    } catch (err) {
      const e = err instanceof HttpError ? err : isConnectionError(err) ? unavailable('Redis is unavailable; retry shortly', 2) : undefined;
      if (!e) {
        end({ status: '500' });
        throw err;
      }
      ctx.countRejection(e);
      end({ status: String(e.status) });
      answer(res, state, protobuf, e.status, { code: RPC_CODE[e.status] ?? 3, message: e.message }, e.headers);
    }
  });
}

export function mountOtlp(app: TemplatedApp, ctx: IngestContext): void {
  app.post('/v1/logs', otlpHandler(ctx));
}

/** The app on OTLP_HTTP_PORT (4318, the OTLP/HTTP default): /v1/logs only, so an SDK ships with no configuration. */
export function createOtlpApp(ctx: IngestContext): TemplatedApp {
  const app = capHttp(loadUws().App(), ctx.cap);
  mountOtlp(app, ctx);
  app.options('/*', (res) => answerPreflight(res));
  app.any('/*', route(ctx.log, (_res, req) => {
    throw notFound(`no such path ${req.getUrl().slice(0, 200)}: this port serves OTLP/HTTP logs at POST /v1/logs only (traces and metrics are not stored)`);
  }));
  return app;
}
