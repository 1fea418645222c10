// XADD a validated batch to the stream: one MULTI/EXEC in one round trip, so a batch is all or nothing (CONTRACT §3).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { StreamEvent, ValidEvent } from '../../shared/src/event.js';
import { EVENT_FIELD } from '../../shared/src/keys.js';


export async function publishEvents(redis: Redis, stream: string, events: readonly ValidEvent[]): Promise<string[]> {
  const receivedAt = Date.now();
  const tx = redis.multi();
  for (const e of events) {
    // The one serialization of the event: the processor hands this JSON to PostgreSQL as it is.
    const entry: StreamEvent = {
      eid: randomUUID(),
      message: e.message,
      level: e.level,
      service: e.service,
      ts: e.ts ?? receivedAt,
      rt: receivedAt,
      attributes: e.attributes,
    };
    tx.xadd(stream, '*', EVENT_FIELD, JSON.stringify(entry));
  }
  const replies = await tx.exec();
  if (!replies) throw new Error('Redis transaction aborted');
  const ids: string[] = new Array(replies.length);
  for (let i = 0; i < replies.length; i++) {
    const [err, id] = replies[i]!;
    if (err) throw err;
    ids[i] = id as string;
  }
  return ids;
}
