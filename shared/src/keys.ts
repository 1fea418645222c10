// Every Redis key name comes from here (the BullMQ rule: one place builds keys).
export interface StreamKeys {
  /** The event stream the producer XADDs to. */
  stream: string;
  /** Dead letters: entries that could not be stored after MAX_DELIVERIES attempts. */
  dlq: string;
}

export function streamKeys(stream: string): StreamKeys {
  return { stream, dlq: `${stream}:dlq` };
}

/** The field of a stream entry that holds the event as JSON. */
export const EVENT_FIELD = 'e';
