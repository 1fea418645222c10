// Elasticsearch _bulk (issue 14 point 3): what Fluent Bit's `es` output, Vector's `elasticsearch` sink, Filebeat,
// Logstash and the official clients send and probe, with api_version 8. POST /_bulk and /<index>/_bulk take NDJSON
// action/document pairs (`index` and `create`; gzip allowed) and answer per item, so one bad document does not block
// the rest: valid documents are stored in one Redis call, the others get status 400 and a reason.
//
// Field mapping: message, msg, log, event.original → message; @timestamp, timestamp, time → timestamp; log.level,
// level, severity → level (kept as an attribute when it is no level); service.name, service,
// kubernetes.container_name, app → service; every other field → attributes (nested objects flattened), and the index
// name as `index`. A dotted name matches both {"log.level":…} and {"log":{"level":…}}.
//
// The probes shippers make first: GET / (an 8.x version document), HEAD /, and empty successes for _license,
// _ilm/policy, _index_template, _template, _ingest/pipeline, _nodes, _cluster/health, _xpack and _data_stream.
// Every answer carries X-Elastic-Product: Elasticsearch, which the official clients check.
import { presentedToken, tokenAllowed } from '@logstream/shared/auth.js';
import { HttpError, isConnectionError, unavailable, unsupportedType } from '@logstream/shared/errors.js';
import { MAX_BATCH_EVENTS, parseEvent, type ValidEvent } from '@logstream/shared/event.js';
import { route } from '@logstream/shared/http-routes.js';
import { decodeUtf8, parseQuery, readBody, sendRaw, type HttpRequest, type HttpResponse, type ResState, type TemplatedApp } from '@logstream/shared/uws.js';
import type { IngestContext } from './ingest-context.js';
import { bodyEventIds, decodeContentEncoding, mediaType } from './shipper-body.js';
import { knownLevel, serviceName } from './shipper-fields.js';

export const MESSAGE_FIELDS = ['message', 'msg', 'log', 'event.original'] as const;
export const TIMESTAMP_FIELDS = ['@timestamp', 'timestamp', 'time'] as const;
export const LEVEL_FIELDS = ['log.level', 'level', 'severity'] as const;
export const SERVICE_FIELDS = ['service.name', 'service', 'kubernetes.container_name', 'app'] as const;

/** The version shippers read from GET /: 8.x, so they speak the 8 API (no _type, `create` for data streams). */
const VERSION = '8.11.0';
const PRODUCT = { 'X-Elastic-Product': 'Elasticsearch' };

type Doc = Record<string, unknown>;
const isObject = (v: unknown): v is Doc => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Take the field `name` (flat "a.b" or nested {a:{b}}) out of `doc`; undefined when absent or not a scalar. */
function take(doc: Doc, name: string): unknown {
  if (Object.hasOwn(doc, name) && !isObject(doc[name])) {
    const v = doc[name];
    delete doc[name];
    return v;
  }
  const dot = name.indexOf('.');
  if (dot < 0) return undefined;
  const parent = doc[name.slice(0, dot)];
  if (!isObject(parent)) return undefined;
  const v = take(parent, name.slice(dot + 1));
  if (v !== undefined && Object.keys(parent).length === 0) delete doc[name.slice(0, dot)];
  return v;
}

/** Take the first of `names` present with a usable value. */
function takeFirst(doc: Doc, names: readonly string[], usable: (v: unknown) => boolean = (v) => v !== undefined && v !== null && v !== ''): unknown {
  for (const name of names) if (usable(peekField(doc, name))) return take(doc, name);
  return undefined;
}

function peekField(doc: Doc, name: string): unknown {
  if (Object.hasOwn(doc, name) && !isObject(doc[name])) return doc[name];
  const dot = name.indexOf('.');
  if (dot < 0) return undefined;
  const parent = doc[name.slice(0, dot)];
  return isObject(parent) ? peekField(parent, name.slice(dot + 1)) : undefined;
}

/** One document (freshly parsed: its mapped fields are taken out of it) → a raw event for the shared validation. */
export function elasticDocToEvent(doc: Doc, index: string | undefined): Record<string, unknown> {
  const message = takeFirst(doc, MESSAGE_FIELDS, (v) => typeof v === 'string' && v !== '');
  const timestamp = takeFirst(doc, TIMESTAMP_FIELDS, (v) => typeof v === 'string' || typeof v === 'number');
  const level = takeFirst(doc, LEVEL_FIELDS, knownLevel);
  const service = takeFirst(doc, SERVICE_FIELDS, (v) => typeof v === 'string' && v !== '');
  if (index) doc.index = index;
  // Assigned, not spread together: an object built by spreads is off V8's usual shapes and slow to read (issue 14).
  const event: Record<string, unknown> = { message: message ?? '' };
  if (level !== undefined) event.level = level;
  if (service !== undefined) event.service = serviceName(service);
  if (timestamp !== undefined) event.timestamp = timestamp;
  event.attributes = doc;
  return event;
}

/** Elasticsearch's error body: {"error":{"root_cause":[…],"type","reason"},"status"}. */
function esError(status: number, type: string, reason: string) {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

const ES_TYPES: Record<number, string> = { 400: 'illegal_argument_exception', 401: 'security_exception', 413: 'content_too_long_exception', 415: 'media_type_header_exception', 429: 'es_rejected_execution_exception', 503: 'unavailable_shards_exception' };

function sendEs(res: HttpResponse, state: ResState, status: number, body: unknown, headers: Record<string, string> = {}) {
  sendRaw(res, state, status, JSON.stringify(body), 'application/json', { ...PRODUCT, ...headers }, status === 413);
}

/** A route whose errors are answered in Elasticsearch's format (clients read `error.reason`). */
function esRoute(ctx: IngestContext, name: string, handler: (res: HttpResponse, req: HttpRequest, state: ResState) => Promise<void> | void) {
  return route(ctx.log, async (res, req, state) => {
    const end = ctx.metrics.requestDuration.startTimer({ route: name });
    try {
      await handler(res, req, state);
      end({ status: String(state.status ?? 200) });
    } catch (err) {
      const e = err instanceof HttpError ? err : isConnectionError(err) ? unavailable('Redis is unavailable; retry shortly', 2) : undefined;
      if (!e) {
        end({ status: '500' });
        throw err;
      }
      ctx.countRejection(e);
      end({ status: String(e.status) });
      const headers = e.status === 401 ? { ...e.headers, 'WWW-Authenticate': 'Basic realm="logstream", ApiKey, Bearer' } : e.headers;
      sendEs(res, state, e.status, esError(e.status, ES_TYPES[e.status] ?? 'illegal_argument_exception', e.message), headers);
    }
  });
}

interface BulkItem {
  action: 'index' | 'create' | string;
  index?: string;
  id?: string;
  /** The raw event, or why the pair was refused. */
  event?: Record<string, unknown>;
  error?: { type: string; reason: string };
}

/** NDJSON action/document pairs. A malformed action line, or an action without its document, refuses the request. */
export function parseBulk(text: string, pathIndex: string | undefined): BulkItem[] {
  const lines = text.split('\n');
  const items: BulkItem[] = [];
  const bad = (reason: string) => new HttpError(400, 'bad_request', reason);
  // Shippers repeat one action line ({"create":{"_index":"logs"}}) before every document: parsed once, then
  // recognised by its text (only read, never changed).
  let lastLine: string | undefined;
  let lastVerb = '';
  let lastMeta: Doc = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (line !== lastLine) {
      let action: unknown;
      try {
        action = JSON.parse(line);
      } catch {
        throw bad(`Malformed action/metadata line [${i + 1}], expected an object like {"create":{"_index":"logs"}}`);
      }
      const keys = isObject(action) ? Object.keys(action) : [];
      if (keys.length !== 1 || !isObject((action as Doc)[keys[0]!])) throw bad(`Malformed action/metadata line [${i + 1}], expected an object like {"create":{"_index":"logs"}}`);
      lastLine = line;
      lastVerb = keys[0]!;
      lastMeta = (action as Record<string, Doc>)[lastVerb]!;
    }
    const verb = lastVerb;
    const meta = lastMeta;
    if (!['index', 'create', 'update', 'delete'].includes(verb)) throw bad(`Unknown action [${verb}] on line [${i + 1}]: use index or create`);
    if (items.length >= MAX_BATCH_EVENTS) throw new HttpError(400, 'too_many_events', `more than ${MAX_BATCH_EVENTS} actions in one bulk request; send smaller batches`);
    const item: BulkItem = { action: verb, index: typeof meta._index === 'string' ? meta._index : pathIndex, id: typeof meta._id === 'string' ? meta._id : undefined };
    items.push(item);
    if (verb === 'delete') {
      item.error = { type: 'illegal_argument_exception', reason: 'logstream stores logs append-only: delete is not supported' };
      continue;
    }
    // The document is the next non-empty line.
    let j = i + 1;
    while (j < lines.length && lines[j]!.trim() === '') j++;
    if (j >= lines.length) throw bad(`The bulk request's action [${verb}] on line [${i + 1}] has no document: every index or create line must be followed by its document`);
    i = j;
    if (verb === 'update') {
      item.error = { type: 'illegal_argument_exception', reason: 'logstream stores logs append-only: update is not supported; use create or index' };
      continue;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(lines[j]!);
    } catch (err) {
      item.error = { type: 'document_parsing_exception', reason: `[${j + 1}:1] failed to parse: ${(err as Error).message.slice(0, 200)}` };
      continue;
    }
    if (!isObject(doc)) {
      item.error = { type: 'document_parsing_exception', reason: `[${j + 1}:1] the document must be a JSON object` };
      continue;
    }
    try {
      item.event = elasticDocToEvent(doc, item.index);
    } catch {
      item.error = { type: 'document_parsing_exception', reason: `[${j + 1}:1] the document is nested too deeply` };
    }
  }
  return items;
}

/**
 * The _bulk answer's JSON, written as text item by item: the same bytes as JSON.stringify of the objects, at a
 * third of its CPU (0.9 ms per 1,000 items, most of the answer's cost; issue 14).
 */
function bulkAnswer(took: number, errors: boolean, items: BulkItem[], ids: readonly string[], slot: readonly number[]): string {
  const parts: string[] = new Array(items.length);
  let quotedIndex = '';
  let lastIndex: string | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const _index = item.index ?? 'logstream';
    if (item.error) {
      parts[i] = JSON.stringify({ [item.action]: { _index, _id: item.id ?? null, status: 400, error: item.error } });
      continue;
    }
    if (_index !== lastIndex) {
      lastIndex = _index;
      quotedIndex = JSON.stringify(_index);
    }
    parts[i] = `{${JSON.stringify(item.action)}:{"_index":${quotedIndex},"_id":${JSON.stringify(item.id ?? ids[slot[i]!])},"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":${slot[i]},"_primary_term":1,"status":201}}`;
  }
  return `{"took":${took},"errors":${errors},"items":[${parts.join(',')}]}`;
}

function bulkHandler(ctx: IngestContext) {
  return esRoute(ctx, 'POST /_bulk', async (res, req, state) => {
    const started = Date.now();
    const type = mediaType(req.getHeader('content-type'));
    const encoding = req.getHeader('content-encoding');
    const length = req.getHeader('content-length');
    const pathIndex = req.getParameter(0) || undefined;
    const token = presentedToken(req.getHeader('authorization'), parseQuery(req.getQuery()).get('token'));
    if (!tokenAllowed(ctx.cfg.INGEST_TOKENS, token)) throw new HttpError(401, 'unauthorized', 'missing or wrong credentials: send the ingest token as the basic-auth password, an ApiKey or a Bearer token');
    if (type !== '' && !/json|ndjson/.test(type)) throw unsupportedType(type);
    const body = decodeContentEncoding(await readBody(res, state, ctx.cfg.MAX_BODY_BYTES, length ? Number(length) : undefined), encoding, ctx.cfg.MAX_BODY_BYTES);
    const items = parseBulk(decodeUtf8(body), pathIndex);
    const valid: ValidEvent[] = [];
    const slot: number[] = [];
    items.forEach((item, i) => {
      if (!item.event) return;
      const r = parseEvent(item.event, i);
      if (r.ok) {
        slot[i] = valid.length;
        valid.push(r.event);
      } else {
        const issue = r.issues[0]!;
        item.error = { type: 'document_parsing_exception', reason: `${issue.path === 'message' ? 'no message: set one of message, msg, log or event.original' : `${issue.path ? `${issue.path}: ` : ''}${issue.message}`}` };
      }
    });
    const ids = valid.length > 0 ? (await ctx.publish(valid, token, 'elasticsearch', bodyEventIds('elasticsearch', token, body))).ids : [];
    const refused = items.filter((item) => item.error).length;
    if (refused > 0) ctx.metrics.rejected.inc({ reason: 'invalid_event' }, 1);
    sendRaw(res, state, 200, bulkAnswer(Date.now() - started, refused > 0, items, ids, slot), 'application/json', PRODUCT);
  });
}

/** The answers of GET / and the set-up calls shippers make before their first bulk. */
function probes(ctx: IngestContext, app: TemplatedApp) {
  const info = { name: 'logstream', cluster_name: 'logstream', cluster_uuid: 'logstream', version: { number: VERSION, build_flavor: 'default', build_type: 'docker', lucene_version: '9.8.0', minimum_wire_compatibility_version: '7.17.0', minimum_index_compatibility_version: '7.0.0' }, tagline: 'You Know, for Search' };
  const authed = (name: string, body: (req: HttpRequest) => unknown) =>
    esRoute(ctx, name, (res, req, state) => {
      if (!tokenAllowed(ctx.cfg.INGEST_TOKENS, presentedToken(req.getHeader('authorization'), parseQuery(req.getQuery()).get('token')))) throw new HttpError(401, 'unauthorized', 'missing or wrong credentials: send the ingest token as the basic-auth password, an ApiKey or a Bearer token');
      sendEs(res, state, 200, body(req));
    });
  app.get('/', authed('GET /', () => info));
  app.head('/', (res) => {
    res.cork(() => res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').writeHeader('X-Elastic-Product', 'Elasticsearch').endWithoutBody());
  });
  const write = (req: HttpRequest) => (req.getMethod().toLowerCase() === 'get' ? {} : { acknowledged: true });
  app.get('/_license', authed('GET /_license', () => ({ license: { status: 'active', uid: 'logstream', type: 'basic', issue_date_in_millis: 0, max_nodes: 1000, issued_to: 'logstream', issuer: 'logstream' } })));
  app.get('/_xpack', authed('GET /_xpack', () => ({ build: {}, license: { status: 'active', type: 'basic', mode: 'basic' }, features: {} })));
  app.get('/_cluster/health', authed('GET /_cluster/health', () => ({ cluster_name: 'logstream', status: 'green', number_of_nodes: 1 })));
  app.get('/_nodes', authed('GET /_nodes', () => ({ _nodes: { total: 1, successful: 1, failed: 0 }, cluster_name: 'logstream', nodes: {} })));
  app.get('/_nodes/*', authed('GET /_nodes', () => ({ _nodes: { total: 1, successful: 1, failed: 0 }, cluster_name: 'logstream', nodes: {} })));
  for (const prefix of ['/_ilm/policy', '/_index_template', '/_template', '/_ingest/pipeline', '/_data_stream']) {
    for (const method of ['get', 'put', 'post'] as const) {
      app[method](`${prefix}/*`, authed(`${method.toUpperCase()} ${prefix}`, write));
      app[method](prefix, authed(`${method.toUpperCase()} ${prefix}`, write));
    }
  }
}

export function mountElastic(app: TemplatedApp, ctx: IngestContext): void {
  const bulk = bulkHandler(ctx);
  app.post('/_bulk', bulk);
  app.put('/_bulk', bulk);
  app.post('/:index/_bulk', bulk);
  app.put('/:index/_bulk', bulk);
  probes(ctx, app);
}
