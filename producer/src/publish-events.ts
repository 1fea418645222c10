// XADD a validated batch to the stream: one script call, one round trip, all or nothing (CONTRACT §3). The call
// itself goes through batch-writer.ts, which decides what an error answer may say.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { MAX_EVENT_BYTES, type ValidEvent } from '@logstream/shared/event.js';
import { encodeStreamEvent } from '@logstream/shared/stream-entry.js';
import { eventTooLarge } from '@logstream/shared/errors.js';
import { EVENT_FIELD } from '@logstream/shared/keys.js';

const XADD_BATCH_LUA = readFileSync(new URL('./scripts/xadd-batch-1.lua', import.meta.url), 'utf8');
const XADD_BATCH_ONCE_LUA = readFileSync(new URL('./scripts/xadd-batch-once-2.lua', import.meta.url), 'utf8');
// The script writes field "e": it must be the field the processor reads.
if (EVENT_FIELD !== 'e') throw new Error('xadd-batch-1.lua writes field "e"; update it with EVENT_FIELD');

type WithXaddBatch = Redis & {
  xaddBatch(stream: string, ...events: string[]): Promise<string[]>;
  /** Empty reply: the marker was there, nothing was added (xadd-batch-once-2.lua). */
  xaddBatchOnce(stream: string, marker: string, ttlSeconds: number, ...events: string[]): Promise<string[]>;
};

/** Register the scripts on a connection (ioredis sends EVALSHA, and EVAL when Redis lost its script cache). */
export function withXaddBatch(redis: Redis): WithXaddBatch {
  if (!('xaddBatch' in redis)) redis.defineCommand('xaddBatch', { numberOfKeys: 1, lua: XADD_BATCH_LUA });
  if (!('xaddBatchOnce' in redis)) redis.defineCommand('xaddBatchOnce', { numberOfKeys: 2, lua: XADD_BATCH_ONCE_LUA });
  return redis as WithXaddBatch;
}

/**
 * How long a resend of an Idempotency-Key request is recognised as one (answered `"duplicate": true`, nothing added
 * to the stream). ship and HTTP clients resend within seconds or minutes; a later resend is still stored once (same
 * event ids; logs.event_id is unique) but answered as new. One marker key of ~100 bytes per request meanwhile.
 */
export const IDEMPOTENCY_WINDOW_S = 3_600;

/** The stream entries of a batch. `eventIds`: one id per event (event-ids.ts, Idempotency-Key); a random UUID each otherwise. */
export function serializeEvents(events: readonly ValidEvent[], eventIds?: readonly string[]): string[] {
  const receivedAt = Date.now();
  const payloads: string[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    // The one serialization of the event: the processor hands this JSON to PostgreSQL as it is.
    payloads[i] = encodeStreamEvent({
      eid: eventIds?.[i] ?? randomUUID(),
      message: e.message,
      level: e.level,
      service: e.service,
      ts: e.ts ?? receivedAt,
      rt: receivedAt,
      attributes: e.attributes,
    });
    // Measured on the entry itself, the size every later stage holds (MAX_EVENT_BYTES); checked before any XADD,
    // so a batch with one oversized event stores nothing (CONTRACT §3, all or nothing).
    const bytes = payloads[i]!.length <= MAX_EVENT_BYTES / 3 ? 0 : Buffer.byteLength(payloads[i]!, 'utf8');
    if (bytes > MAX_EVENT_BYTES) throw eventTooLarge(i, bytes, MAX_EVENT_BYTES);
  }
  return payloads;
}
