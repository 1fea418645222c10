// Every Redis key name comes from here (the BullMQ rule: one place builds keys).
export interface StreamKeys {
  /** The event stream the producer XADDs to. */
  stream: string;
  /** Dead letters: entries that could not be stored after MAX_DELIVERIES attempts. */
  dlq: string;
  /**
   * A random id the stream's processors agree on (SET NX), so that the event ids derived for entries written by other
   * tools differ between two streams, even on two Redis servers whose entry ids repeat (issue 11.3).
   */
  identity: string;
}

export function streamKeys(stream: string): StreamKeys {
  return { stream, dlq: `${stream}:dlq`, identity: `${stream}:identity` };
}

/**
 * The marker of one Idempotency-Key request (producer/src/scripts/xadd-batch-once-2.lua), named by the first event
 * id of the request, which is derived from the token, the key and the body (producer/src/event-ids.ts).
 */
export function idempotencyMarker(stream: string, firstEventId: string): string {
  return `${stream}:idempotency:${firstEventId}`;
}

/** The field of a stream entry that holds the event as JSON. */
export const EVENT_FIELD = 'e';
