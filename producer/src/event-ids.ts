// Event ids for POST /send with an Idempotency-Key header. A client that got no answer (a timeout, a dropped
// connection, a 503 after the XADD) cannot know whether its batch reached the stream; resending it with the same
// key and the same body gives every event the same id as the first time, and storage keeps one row per event id
// (logs.event_id is UNIQUE, the insert is ON CONFLICT DO NOTHING). The body is part of the id, so a key reused for
// a different body stores that body rather than dropping it; the token is too, so that clients never collide.
import { createHash } from 'node:crypto';
import { uuid5 } from '@logstream/shared/uuid5.js';

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The id of each of `count` events of a request: the same for the same token, key and body. */
export function idempotentEventIds(token: string | undefined, key: string, body: Uint8Array, count: number): string[] {
  const digest = createHash('sha256').update(body).digest('hex');
  const prefix = `${token ?? ''}\n${key}\n${digest}\n`;
  return Array.from({ length: count }, (_, i) => uuid5(prefix + i));
}
