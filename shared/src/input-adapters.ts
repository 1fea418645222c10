// Raw input → the event shape validation reads (event.ts, parseEvent): every form a log line arrives in becomes an
// event here, in one module (issue 13 point 3). The shipper protocols' decoders (producer/src/loki-push.ts,
// otlp-logs.ts, elastic-bulk.ts, syslog-server.ts, with the field helpers of shipper-fields.ts) map their records
// onto this shape too and hand them to parseEvent, which applies fromPino to every one; a new ingest protocol plugs
// in the same way.
import { flattenAttributes } from './flatten-attributes.js';
import { customLevelValue, LEVEL_NUMBER_ATTRIBUTE, levelValue } from './levels.js';
import { fieldsToObject } from './stream-entry.js';

/** An event before validation: what a client sent, mapped onto the event's fields. */
export type RawEvent = Record<string, unknown>;

const KNOWN = new Set(['message', 'msg', 'level', 'service', 'timestamp', 'time', 'attributes']);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Map a pino line (or any event with extra top-level fields) onto the event shape: `msg` → message,
 * `time` → timestamp, other top-level fields → attributes, nested objects flattened into dotted keys
 * (flatten-attributes.ts). A custom pino level number becomes the standard level below it, the number kept in
 * the `level_number` attribute.
 */
export function fromPino(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  out.message = raw.message !== undefined ? raw.message : raw.msg;
  if (raw.service !== undefined) out.service = raw.service;
  const ts = raw.timestamp !== undefined ? raw.timestamp : raw.time;
  if (ts !== undefined) out.timestamp = ts;
  let extra: Map<string, unknown> | undefined;
  for (const key of Object.keys(raw)) {
    if (KNOWN.has(key)) continue;
    extra ??= new Map();
    extra.set(key, raw[key]);
  }
  if (raw.level !== undefined) {
    const custom = customLevel(raw.level);
    if (custom === undefined) out.level = raw.level;
    else {
      out.level = custom;
      extra ??= new Map();
      extra.set(LEVEL_NUMBER_ATTRIBUTE, Number(raw.level));
    }
  }
  // When both message and msg are present, msg is kept as an attribute rather than lost.
  if (raw.message !== undefined && raw.msg !== undefined) {
    extra ??= new Map();
    extra.set('msg', raw.msg);
  }
  if (raw.attributes !== undefined && !isObject(raw.attributes)) {
    out.attributes = raw.attributes; // refused by validation, with its path
  } else if (!extra && raw.attributes !== undefined && Object.getPrototypeOf(raw.attributes) === Object.prototype) {
    // Only explicit attributes (every decoder's events, most /send lines): flattened as they are, without the copy
    // through a Map, which was 40% of fromPino's CPU. Validation copies them into a new object anyway.
    out.attributes = flattenAttributes(raw.attributes as Record<string, unknown>);
  } else if (extra || raw.attributes !== undefined) {
    // Explicit attributes win over top-level fields of the same name.
    const fields = new Map(extra);
    if (raw.attributes !== undefined) for (const [k, v] of Object.entries(raw.attributes)) fields.set(k, v);
    out.attributes = flattenAttributes(Object.fromEntries(fields));
  }
  return out;
}

/** The standard level for a custom pino level number (35, "35"), or undefined when it is standard or not a number. */
function customLevel(level: unknown): number | undefined {
  const n = typeof level === 'number' ? level : typeof level === 'string' && /^\d{1,9}$/.test(level) ? Number(level) : undefined;
  if (n === undefined || levelValue(n) !== undefined) return undefined;
  return customLevelValue(n);
}

/**
 * GET /send?message=…&level=…&service=…&timestamp=…: the query parameters as an event (CONTRACT §3); digits are
 * numbers for level and timestamp, every other parameter but `token` an attribute (a string).
 */
export function fromQueryParams(query: ReadonlyMap<string, string>, defaultMessage: string): RawEvent {
  const event: RawEvent = { message: query.get('message') ?? defaultMessage };
  // A Map, then Object.fromEntries: `?__proto__=x` becomes an own key (refused by validation), never the prototype.
  const attributes = new Map<string, string>();
  for (const [k, v] of query) {
    if (k === 'message' || k === 'token') continue;
    if (k === 'level' || k === 'service' || k === 'timestamp') event[k] = /^\d+$/.test(v) && k !== 'service' ? Number(v) : v;
    else attributes.set(k, v);
  }
  if (attributes.size > 0) event.attributes = Object.fromEntries(attributes);
  return event;
}

/**
 * A stream entry written by another tool (`XADD logs * message hi level warn`): its fields as an event, with
 * `attributes` given as JSON text and a `timestamp` of digits as epoch ms.
 */
export function fromStreamFields(fields: readonly string[]): { ok: true; event: RawEvent } | { ok: false; reason: string } {
  const event: RawEvent = fieldsToObject(fields);
  if (typeof event.attributes === 'string') {
    try {
      event.attributes = JSON.parse(event.attributes);
    } catch {
      return { ok: false, reason: 'field "attributes" is not JSON' };
    }
  }
  if (typeof event.timestamp === 'string' && /^\d+$/.test(event.timestamp)) event.timestamp = Number(event.timestamp);
  return { ok: true, event };
}

/**
 * A line of a process's output (npm run ship): a JSON object (a pino line) as it is, anything else as its message;
 * `defaults` fill what the line does not say. Undefined for a blank line.
 */
export function fromLine(line: string, defaults: { service?: string; level?: string }): RawEvent | undefined {
  if (line.trim() === '') return undefined;
  if (line.trimStart().startsWith('{')) {
    try {
      const value = JSON.parse(line) as unknown;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return { ...defaults, ...value };
    } catch {
      // Not JSON after all: shipped as text.
    }
  }
  return { ...defaults, message: line };
}
