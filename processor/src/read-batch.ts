// Reading work from the stream: new entries (XREADGROUP) and entries a dead consumer left pending (XAUTOCLAIM).
import type { Redis } from 'ioredis';
import { toEntries, type Entry } from './stream-entries.js';

export async function readNew(redis: Redis, stream: string, group: string, consumer: string, count: number, blockMs: number): Promise<Entry[]> {
  const reply = (await redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, '>')) as
    | [string, unknown][]
    | null;
  if (!reply || reply.length === 0) return [];
  return toEntries(reply[0]![1]);
}

export interface Reclaimed {
  entries: Entry[];
  /** Ids that were pending but no longer exist in the stream; XAUTOCLAIM already removed them from the PEL. */
  deleted: string[];
  /** Cursor for the next XAUTOCLAIM call; '0-0' when the scan is complete. */
  next: string;
}

/** Take over entries idle for at least `minIdleMs` (their consumer died or hung). */
export async function reclaimIdle(redis: Redis, stream: string, group: string, consumer: string, minIdleMs: number, start: string, count: number): Promise<Reclaimed> {
  const reply = (await redis.xautoclaim(stream, group, consumer, minIdleMs, start, 'COUNT', count)) as unknown[];
  return {
    next: String(reply[0]),
    entries: toEntries(reply[1]).filter((e) => e.fields !== null),
    deleted: Array.isArray(reply[2]) ? (reply[2] as string[]) : [],
  };
}

/** Times each id was delivered (XPENDING extended form); used to decide when a poison entry goes to the DLQ. */
export async function deliveryCounts(redis: Redis, stream: string, group: string, ids: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.xpending(stream, group, id, id, 1);
  const replies = (await pipeline.exec()) ?? [];
  replies.forEach(([err, reply], i) => {
    const row = !err && Array.isArray(reply) ? (reply[0] as unknown[] | undefined) : undefined;
    out.set(ids[i]!, row ? Number(row[3]) : 1);
  });
  return out;
}
