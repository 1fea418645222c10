// Operations on the dead-letter stream behind `npm run dlq`: list, show, replay (optionally with fixed fields),
// purge. Entries are written by dead-letter.ts: id (original stream id), reason, deliveries, failed_at, fields
// (the original entry's flat field list as JSON).
import type { Redis } from 'ioredis';
import { EVENT_FIELD, type StreamKeys } from '@logstream/shared/keys.js';
import { fieldsToObject, isProducerEntry } from '@logstream/shared/stream-entry.js';

export interface DeadLetterEntry {
  /** Id in the dead-letter stream. */
  id: string;
  originalId: string;
  reason: string;
  deliveries: number;
  failedAt: string;
  /** The original entry's fields, flat [name, value, …], as they were in the main stream. */
  fields: string[];
}

function toEntry(id: string, flat: string[]): DeadLetterEntry {
  const f = fieldsToObject(flat);
  let fields: string[] = [];
  try {
    const parsed = JSON.parse(f.fields ?? '[]') as unknown;
    if (Array.isArray(parsed)) fields = parsed.map(String);
  } catch {
    // A damaged dead letter still lists; replaying it is refused below.
  }
  return { id, originalId: f.id ?? '', reason: f.reason ?? '', deliveries: Number(f.deliveries ?? 0), failedAt: f.failed_at ?? '', fields };
}

export async function listDeadLetters(redis: Redis, keys: StreamKeys, count = 1000): Promise<{ total: number; entries: DeadLetterEntry[] }> {
  const [total, raw] = await Promise.all([redis.xlen(keys.dlq), redis.xrange(keys.dlq, '-', '+', 'COUNT', count)]);
  return { total, entries: raw.map(([id, flat]) => toEntry(id, flat)) };
}

export async function getDeadLetter(redis: Redis, keys: StreamKeys, id: string): Promise<DeadLetterEntry | undefined> {
  const raw = await redis.xrange(keys.dlq, id, id);
  return raw[0] ? toEntry(raw[0][0], raw[0][1]) : undefined;
}

/**
 * Apply `name=value` fixes to an entry's fields. For an entry written by the producer (one field `e` holding the
 * event JSON) they set keys of that JSON; for a raw entry (`XADD … message hi level warn`) they set fields.
 */
export function applyFixes(fields: string[], fixes: Record<string, string>): string[] {
  if (Object.keys(fixes).length === 0) return fields;
  if (isProducerEntry(fields)) {
    const event = JSON.parse(fields[1]!) as Record<string, unknown>;
    for (const [k, v] of Object.entries(fixes)) event[k] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
    return [EVENT_FIELD, JSON.stringify(event)];
  }
  const obj = fieldsToObject(fields);
  Object.assign(obj, fixes);
  return Object.entries(obj).flat();
}

/** Re-add the original fields (with fixes) to the main stream and delete the dead letter, in one MULTI. */
export async function replayDeadLetter(redis: Redis, keys: StreamKeys, entry: DeadLetterEntry, fixes: Record<string, string> = {}): Promise<string> {
  if (entry.fields.length < 2) throw new Error(`dead letter ${entry.id} has no original fields to replay`);
  const fields = applyFixes(entry.fields, fixes);
  const replies = await redis.multi().xadd(keys.stream, '*', ...fields).xdel(keys.dlq, entry.id).exec();
  const [err, newId] = replies?.[0] ?? [new Error('transaction aborted'), null];
  if (err) throw err;
  return String(newId);
}

export async function purgeDeadLetters(redis: Redis, keys: StreamKeys): Promise<number> {
  const n = await redis.xlen(keys.dlq);
  await redis.del(keys.dlq);
  return n;
}
