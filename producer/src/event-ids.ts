// Event ids for POST /send with an Idempotency-Key header. A client that got no answer (a timeout, a dropped
// connection, a 503 after the XADD) cannot know whether its batch reached the stream; resending it with the same
// key and the same body gives every event the same id as the first time, and storage keeps one row per event id
// (logs.event_id is UNIQUE, the insert is ON CONFLICT DO NOTHING). The body is part of the id, so a key reused for
// a different body stores that body rather than dropping it; the token is too, so that clients never collide.
import { createHash } from 'node:crypto';

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The id of each of `count` events of a request: the same for the same token, key and body. One SHA-256 of the
 * three gives the first 96 bits (an RFC 9562 version 8 UUID), the event's position added to the last 32 bits the
 * rest. A SHA-1 (uuid5) per event cost 6.8 ms per 1,000 events, more than half of what decoding and validating a
 * /send body costs (12.7 ms, bench/diagnostics/decoder-cpu.ts); two requests' ids meet only if their digests share
 * 96 bits.
 */
export function idempotentEventIds(token: string | undefined, key: string, body: Uint8Array, count: number): string[] {
  const h = createHash('sha256').update(`${token ?? ''}\n${key}\n`).update(body).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex', 0, 12);
  const prefix = `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 24)}`;
  const base = h.readUInt32BE(12);
  return Array.from({ length: count }, (_, i) => prefix + ((base + i) >>> 0).toString(16).padStart(8, '0'));
}
