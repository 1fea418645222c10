// Nested fields → flat attributes (issue 14). pino's `err`, `req` and `res`, OTLP key/value lists and Elasticsearch
// documents are objects; storage keeps attributes flat (string | number | boolean | null, CONTRACT §3), so an object
// becomes dotted keys: {"err":{"type":"Error","stack":"…"}} → "err.type", "err.stack".
//
// The rule for what does not fit (README "Nested fields"):
// - fields that are already flat are kept as they are, and always win over a dotted key of the same name;
// - arrays are kept as one JSON string (`"tags":"[\"a\",\"b\"]"`);
// - each nested object, in the order sent, is expanded only when all of its leaves fit within the MAX_ATTRIBUTES
//   limit (after every top-level field is counted), every dotted key is at most MAX_ATTRIBUTE_KEY_CHARS characters,
//   and it nests at most MAX_FLATTEN_DEPTH levels; otherwise that whole object is kept as one JSON string under its
//   own key. Nothing is dropped; a value over the value limit is still refused as before.
import { MAX_ATTRIBUTE_KEY_CHARS, MAX_ATTRIBUTES } from './event.js';

/** `a.b.c.d.e.f.g.h` at most: deeper than any pino serializer goes, shallow enough to keep keys readable. */
export const MAX_FLATTEN_DEPTH = 8;

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The leaves of `value` under `prefix`, or undefined when it nests deeper than the limit or a key is too long. */
function leaves(prefix: string, value: Record<string, unknown>, depth: number, out: [string, unknown][], limit: number): boolean {
  const keys = Object.keys(value);
  if (keys.length === 0) {
    out.push([prefix, '{}']);
    return true;
  }
  for (const k of keys) {
    const key = `${prefix}.${k}`;
    if (key.length > MAX_ATTRIBUTE_KEY_CHARS || out.length >= limit) return false;
    const v = value[k];
    if (isPlainObject(v)) {
      if (depth >= MAX_FLATTEN_DEPTH || !leaves(key, v, depth + 1, out, limit)) return false;
    } else {
      out.push([key, Array.isArray(v) ? JSON.stringify(v) : v]);
    }
  }
  return true;
}

/**
 * Flatten `fields` (top-level name → any JSON value) into attributes by the rule above. More than MAX_ATTRIBUTES
 * top-level fields are returned as they are, for validation to refuse. JSON.stringify may throw RangeError on
 * absurdly deep input; the caller turns that into a 400.
 */
export function flattenAttributes(fields: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(fields);
  let flat = true;
  for (const k of keys) {
    const v = fields[k];
    if (v !== null && typeof v === 'object') flat = false;
  }
  if (flat) return fields;
  // Built as an object, not a Map turned into one (Object.fromEntries), with no closure per call (tsx names each
  // one with a defineProperty): 1.7 → 0.5 µs per event with one nested object, the largest single cost of a syslog
  // message with structured data (issue 14).
  const out: Record<string, unknown> = {};
  let size = 0;
  for (const k of keys) {
    const v = fields[k];
    if (!isPlainObject(v)) size += put(out, k, Array.isArray(v) ? JSON.stringify(v) : v);
  }
  let spare = MAX_ATTRIBUTES - keys.length;
  for (const k of keys) {
    const v = fields[k];
    if (!isPlainObject(v)) continue;
    const found: [string, unknown][] = [];
    // The walk stops once it has more leaves than could ever fit, so a huge object costs no more than the limit.
    if (spare >= 0 && leaves(k, v, 1, found, MAX_ATTRIBUTES + size + 1)) {
      // Leaves whose dotted key is already taken (by a flat field or an earlier object) are skipped.
      let fresh = 0;
      for (const leaf of found) if (!Object.hasOwn(out, leaf[0])) found[fresh++] = leaf;
      if (fresh - 1 <= spare) {
        for (let i = 0; i < fresh; i++) size += put(out, found[i]![0], found[i]![1]);
        spare -= Math.max(0, fresh - 1);
        continue;
      }
    }
    size += put(out, k, JSON.stringify(v));
  }
  return out;
}

/**
 * `o[key] = value` as an own property even for "__proto__" (which assignment would take as the prototype); 1 when
 * the key is new.
 */
function put(o: Record<string, unknown>, key: string, value: unknown): number {
  const added = Object.hasOwn(o, key) ? 0 : 1;
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
  return added;
}
