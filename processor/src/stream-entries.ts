// Stream entries as the processor sees them, and their conversion into the JSON rows handed to PostgreSQL (the
// entry format itself: shared/src/stream-entry.ts).
import { parseEvent } from '@logstream/shared/event.js';
import { EVENT_FIELD } from '@logstream/shared/keys.js';
import { fromStreamFields } from '@logstream/shared/input-adapters.js';
import { encodeStreamEvent, isProducerEntry, streamEventSchema, streamRowJson } from '@logstream/shared/stream-entry.js';
import { uuid5 } from '@logstream/shared/uuid5.js';

export { isProducerEntry };

export interface Entry {
  id: string;
  /** Flat [field, value, …] list; null when the entry was deleted from the stream while pending. */
  fields: string[] | null;
}

/** XREADGROUP / XAUTOCLAIM entry lists → Entry[]. */
export function toEntries(raw: unknown): Entry[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((e) => ({ id: String(e[0]), fields: Array.isArray(e[1]) ? (e[1] as string[]) : null }));
}

export type RowResult = { ok: true; json: string } | { ok: false; reason: string };

/**
 * The event id of an entry written by another tool, which carries none: derived from the stream's identity and the
 * entry id, so a redelivered entry gets the same id (stored once) while the same entry id in another stream, on
 * another Redis server, gets another (stored too: issue 11.3, rows are unique by event id alone).
 */
export function entryEventId(streamIdentity: string, entryId: string): string {
  return uuid5(`stream-entry\n${streamIdentity}\n${entryId}`);
}

/**
 * The row for one entry as JSON, with the stream id spliced in. Entries written by the producer carry the event
 * JSON in field `e` and are passed through without re-serializing (one serialization per row, at the producer).
 * Entries written by other tools (`XADD logs * message hi level warn`) are validated and normalized here.
 */
export function entryRow(entry: Entry, streamIdentity: string, now = Date.now()): RowResult {
  const fields = entry.fields!;
  if (isProducerEntry(fields)) {
    const json = streamRowJson(entry.id, fields[1]!);
    return json === undefined ? { ok: false, reason: `field "${EVENT_FIELD}" does not hold a JSON object` } : { ok: true, json };
  }
  const raw = fromStreamFields(fields);
  if (!raw.ok) return raw;
  const parsed = parseEvent(raw.event);
  if (!parsed.ok) return { ok: false, reason: parsed.issues.map((i) => `${i.path || 'event'}: ${i.message}`).join('; ') };
  const e = parsed.event;
  const event = encodeStreamEvent({ eid: entryEventId(streamIdentity, entry.id), message: e.message, level: e.level, service: e.service, ts: e.ts ?? now, rt: now, attributes: e.attributes });
  return { ok: true, json: streamRowJson(entry.id, event)! };
}

/**
 * Why an entry in the producer's format can never be stored, or undefined when it could be (PostgreSQL may then
 * have rejected it for another reason, such as a NUL character, which a retry does not fix either but which the
 * MAX_DELIVERIES rule covers). Entries in this format are passed to PostgreSQL unparsed, so a foreign writer's entry
 * with `"level":"verbose"` used to be retried MAX_DELIVERIES times, minutes apart, before it was dead-lettered
 * (issue 12): it is undecodable, and goes to the dead letters at once.
 */
export function producerEntryProblem(fields: string[]): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(fields[1]!);
  } catch {
    return `field "${EVENT_FIELD}" is not JSON`;
  }
  const r = streamEventSchema.safeParse(value);
  if (r.success) return undefined;
  return r.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ');
}
