// Dead letters: entries that cannot be stored go to `${REDIS_STREAM}:dlq` with their reason, and are acked.
import type { Redis } from 'ioredis';
import type { Entry } from './stream-entries.js';

export interface DeadLetter {
  entry: Entry;
  reason: string;
  deliveries: number;
}

/** Move entries to the DLQ and ack them in one MULTI, so an entry is never both lost and acked. */
export async function deadLetter(redis: Redis, stream: string, dlq: string, group: string, letters: readonly DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  const tx = redis.multi();
  for (const l of letters) {
    tx.xadd(dlq, '*', 'id', l.entry.id, 'reason', l.reason.slice(0, 2000), 'deliveries', String(l.deliveries), 'failed_at', new Date().toISOString(), 'fields', JSON.stringify(l.entry.fields ?? []));
  }
  tx.xack(stream, group, ...letters.map((l) => l.entry.id));
  await tx.exec();
}
