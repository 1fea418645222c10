// The log event (CONTRACT §3): validation of what clients send, and the normalized form that travels
// through the stream. Shared by the producer, the processor (entries written by other tools) and the page.
import { z } from 'zod';
import { fromPino } from './input-adapters.js';
import { LEVEL_ALIASES, LEVELS, levelValue } from './levels.js';
import type { StreamEvent } from './stream-entry.js';

export type { StreamEvent } from './stream-entry.js';

export const MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_ATTRIBUTES = 64;
export const MAX_ATTRIBUTE_KEY_CHARS = 128;
export const MAX_BATCH_EVENTS = 10_000;
/**
 * Cap on one event as it travels (its stream entry: the serialized JSON, event id and timestamps included), 256 KiB.
 * Within the field limits an event could be 64 attributes of 64 Ki characters, ~12-24 MB of JSON: a batch of 1,000
 * of those was over V8's largest string (~512 MiB) in the processor, and a page of 150 in the gateway (issue 11).
 * 256 KiB is Loki's default max_line_size and CloudWatch's long-standing event limit; it keeps a full read of
 * BATCH_SIZE=1,000 entries under 256 MiB and lets every byte budget of the pipeline hold at least 16 events.
 */
export const MAX_EVENT_BYTES = 256 * 1024;
export const SERVICE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Timestamps outside [1970, now + 1 day] are rejected as absurd rather than stored. */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

/**
 * Whether the fields of an RFC 3339 match name a real instant. Date.parse rolls impossible ones over instead of
 * refusing them: 2026-02-31 became 2026-03-03 and T24:00:00 the next day (issue 11 point 9). A leap second (:60)
 * is refused too: JavaScript time has none.
 */
function realDate(m: RegExpExecArray): boolean {
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const offsetOk = m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && Number(m[4]) <= 23 && Number(m[5]) <= 59 && Number(m[6]) <= 59 && offsetOk;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Days in a month of the proleptic Gregorian calendar, as `new Date(Date.UTC(year, month, 0)).getUTCDate()` says
 * (which reads years 0-99 as 1900-1999) without building a Date: 1 µs of the 2.3 µs a timestamp string cost.
 */
function daysInMonth(year: number, month: number): number {
  if (month !== 2) return MONTH_DAYS[month - 1]!;
  const y = year < 100 ? year + 1900 : year;
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
}

// PostgreSQL text and jsonb cannot hold U+0000, so NUL is rejected at the door, not at insert time.
const noNul = (s: string) => !s.includes('\u0000');

const messageSchema = z
  .string({ error: (iss) => (iss.input === undefined ? 'message is required' : 'message must be a string') })
  .min(1, 'message must not be empty')
  .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_MESSAGE_BYTES, `message is over ${MAX_MESSAGE_BYTES} bytes`)
  .refine(noNul, 'message must not contain NUL (\\u0000) characters');

const levelSchema = z
  .union([z.string(), z.number()], { error: `level must be one of ${LEVELS.join(', ')}, an alias such as warning or err, or a pino number` })
  .transform((v, ctx) => {
    const value = levelValue(v);
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: `unknown level ${JSON.stringify(v)}: use one of ${LEVELS.join(', ')}, an alias (${Object.keys(LEVEL_ALIASES).join(', ')}), or a pino level number` });
      return z.NEVER;
    }
    return value;
  });

const serviceSchema = z
  .string({ error: 'service must be a string' })
  .regex(SERVICE_PATTERN, 'service must be 1-64 characters of A-Z a-z 0-9 _ . : -');

const timestampSchema = z
  .union([z.string(), z.number()], { error: 'timestamp must be an RFC 3339 string or epoch milliseconds' })
  .transform((v, ctx) => {
    let ms: number;
    let match: RegExpExecArray | null;
    if (typeof v === 'number') {
      ms = v;
    } else if ((match = RFC3339.exec(v)) !== null) {
      if (!realDate(match)) {
        ctx.addIssue({ code: 'custom', message: `timestamp ${JSON.stringify(v.slice(0, 40))} is not a real date and time (month 01-12, a day the month has, hours 00-23, minutes and seconds 00-59)` });
        return z.NEVER;
      }
      ms = Date.parse(v.replace(' ', 'T'));
    } else {
      ctx.addIssue({ code: 'custom', message: 'timestamp must be RFC 3339 (e.g. 2026-11-26T18:00:00.000Z) or epoch milliseconds' });
      return z.NEVER;
    }
    if (!Number.isFinite(ms) || ms < 0 || ms > Date.now() + MAX_FUTURE_MS) {
      ctx.addIssue({ code: 'custom', message: 'timestamp is out of range (1970 to one day from now)' });
      return z.NEVER;
    }
    return Math.floor(ms);
  });

const attributeValue = z.union([
  z.string().refine(noNul, 'attribute values must not contain NUL characters').refine((s) => s.length <= MAX_MESSAGE_BYTES, 'attribute value too long'),
  z.number().finite(),
  z.boolean(),
  z.null(),
], { error: 'attribute values must be string, number, boolean or null (attributes are flat)' });

const attributesSchema = z
  .record(
    z.string().max(MAX_ATTRIBUTE_KEY_CHARS, `attribute names are at most ${MAX_ATTRIBUTE_KEY_CHARS} characters`).refine(noNul, 'attribute names must not contain NUL'),
    attributeValue,
    { error: 'attributes must be an object' },
  )
  .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, `at most ${MAX_ATTRIBUTES} attributes`);

export const eventSchema = z.object({
  message: messageSchema,
  level: levelSchema.default(30),
  service: serviceSchema.default('default'),
  timestamp: timestampSchema.optional(),
  attributes: attributesSchema.default({}),
});

export interface Issue {
  index: number;
  path: string;
  message: string;
}

export type ValidEvent = Omit<StreamEvent, 'eid' | 'rt' | 'ts'> & { ts?: number };
export type ParseResult = { ok: true; event: ValidEvent } | { ok: false; issues: Issue[] };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Validate one decoded JSON value as an event; `index` is its position in the request. */
export function parseEvent(raw: unknown, index = 0): ParseResult {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, issues: [{ index, path: '', message: 'an event must be a JSON object with at least "message"' }] };
  }
  let shaped: Record<string, unknown>;
  try {
    shaped = fromPino(raw as Record<string, unknown>);
  } catch {
    // JSON.stringify of a pino field nested ~10,000 deep overflows the stack: that was a 500 (issue 4).
    return { ok: false, issues: [{ index, path: '', message: 'an event field is nested too deeply' }] };
  }
  // zod's record skips the key "__proto__" (assigning it would set the prototype), and so does every plain object
  // along the way: refused here rather than silently lost (issue 11 point 9). "constructor" and "prototype" are
  // ordinary keys and are stored.
  if (isObject(shaped.attributes) && Object.hasOwn(shaped.attributes, '__proto__')) {
    return { ok: false, issues: [{ index, path: 'attributes.__proto__', message: 'the attribute name "__proto__" is reserved: rename it (e.g. "proto")' }] };
  }
  const result = eventSchema.safeParse(shaped);
  if (!result.success) {
    return {
      ok: false,
      issues: result.error.issues.map((i) => ({
        index,
        path: i.path.join('.'),
        message: i.message,
      })),
    };
  }
  const e = result.data;
  return { ok: true, event: { message: e.message, level: e.level, service: e.service, ts: e.timestamp, attributes: e.attributes } };
}

/** Validate a batch: all or nothing (CONTRACT §3). Returns the events or every issue found (at most 100). */
export function parseBatch(raws: unknown[]): { ok: true; events: ValidEvent[] } | { ok: false; issues: Issue[] } {
  const events: ValidEvent[] = [];
  const issues: Issue[] = [];
  for (let i = 0; i < raws.length; i++) {
    const r = parseEvent(raws[i], i);
    if (r.ok) events.push(r.event);
    else {
      issues.push(...r.issues);
      if (issues.length >= 100) break;
    }
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, events };
}
