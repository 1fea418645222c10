// The stream entry, defined once (issue 13 point 3): the event as the producer XADDs it (field EVENT_FIELD of
// keys.ts, the one JSON serialization of the event, made by the producer), and the row a processor hands
// PostgreSQL (that JSON with the entry id spliced in as `sid`), which the store statement reads with
// json_to_recordset (processor/src/sql/store-batch.ts).
import { z } from 'zod';
import { EVENT_FIELD } from './keys.js';
import { LEVEL_VALUES } from './levels.js';

/** The normalized event as it travels through the stream. */
export interface StreamEvent {
  /** Producer-assigned event id: a client library resending an XADD after a reconnect cannot make a second row. */
  eid: string;
  message: string;
  level: number;
  service: string;
  /** Epoch ms. */
  ts: number;
  /** Epoch ms when the producer received it. */
  rt: number;
  attributes: Record<string, string | number | boolean | null>;
}

/** A stream entry as a row to store: its event and the entry id. */
export interface StreamRow extends StreamEvent {
  sid: string;
}

/** Every field of a StreamRow and its SQL type; json_to_recordset reads the fields by name. */
export const STREAM_ROW_COLUMNS = {
  sid: 'text',
  eid: 'uuid',
  ts: 'double precision',
  rt: 'double precision',
  level: 'smallint',
  service: 'text',
  message: 'text',
  attributes: 'jsonb',
} as const satisfies Record<keyof StreamRow, string>;

/** The column definition list of json_to_recordset over StreamRows: `sid text, eid uuid, …`. */
export const STREAM_ROW_RECORDSET = Object.entries(STREAM_ROW_COLUMNS).map(([name, type]) => `${name} ${type}`).join(', ');

/** The entry's JSON: what the producer XADDs, and what a processor passes to PostgreSQL unparsed. */
export function encodeStreamEvent(e: StreamEvent): string {
  return JSON.stringify({ eid: e.eid, message: e.message, level: e.level, service: e.service, ts: e.ts, rt: e.rt, attributes: e.attributes });
}

/**
 * The row of an entry: its event JSON with the entry id spliced in front, without parsing or re-serializing it (one
 * serialization per row); undefined when the JSON is not an object.
 */
export function streamRowJson(entryId: string, eventJson: string): string | undefined {
  if (eventJson.length > 2 && eventJson.charCodeAt(0) === 123 /* { */) return `{"sid":${JSON.stringify(entryId)},${eventJson.slice(1)}`;
  return undefined;
}

/** Entries written by the producer: the event as JSON in field EVENT_FIELD, nothing else. */
export function isProducerEntry(fields: readonly string[]): boolean {
  return fields.length === 2 && fields[0] === EVENT_FIELD;
}

/** A flat [field, value, …] list of an entry → an object (a field repeated keeps its last value). */
export function fieldsToObject(fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]!] = fields[i + 1]!;
  return out;
}

const levelNumbers = new Set<number>(Object.values(LEVEL_VALUES));
/** A StreamEvent as the producer writes it, for checking an entry PostgreSQL rejected (never on the hot path). */
export const streamEventSchema = z.object({
  eid: z.uuid(),
  message: z.string(),
  level: z.number().refine((n) => levelNumbers.has(n), { message: `must be one of the level numbers ${[...levelNumbers].join(', ')}` }),
  service: z.string(),
  ts: z.number(),
  rt: z.number(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
});
