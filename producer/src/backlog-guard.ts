// Backpressure for ingest: when the unprocessed backlog (consumer-group lag) passes STREAM_MAX_BACKLOG the producer
// answers 503 + Retry-After instead of growing Redis without bound. Sampled once a second, not per request, so the
// hot path stays one round trip.
import type { Redis } from 'ioredis';
import { replyToMap } from '@logstream/shared/redis.js';

export interface BacklogGuard {
  /** Latest sampled backlog (entries not yet delivered or not yet acked), or undefined before the first sample. */
  backlog(): number | undefined;
  over(): boolean;
  stop(): void;
}

/** XINFO GROUPS reply → the largest lag + pending of any group; XLEN when there is no group yet. */
export async function sampleBacklog(redis: Redis, stream: string): Promise<number> {
  let groups: unknown[];
  try {
    groups = (await redis.xinfo('GROUPS', stream)) as unknown[];
  } catch (err) {
    if (/no such key/i.test((err as Error).message)) return 0;
    throw err;
  }
  if (groups.length === 0) return await redis.xlen(stream);
  let worst = 0;
  let unknownLag = false;
  for (const g of groups) {
    const info = replyToMap(g as unknown[]);
    const pending = Number(info.get('pending') ?? 0);
    const lag = info.get('lag');
    if (lag === null || lag === undefined) unknownLag = true;
    worst = Math.max(worst, pending + Number(lag ?? 0));
  }
  // Redis cannot always compute lag (after XDEL or XSETID); fall back to the stream length, an upper bound.
  return unknownLag ? Math.max(worst, await redis.xlen(stream)) : worst;
}

export function startBacklogGuard(redis: Redis, stream: string, limit: number, intervalMs = 1_000): BacklogGuard {
  let latest: number | undefined;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    try {
      if (redis.status === 'ready') latest = await sampleBacklog(redis, stream);
    } catch {
      // Redis trouble shows up on the ingest path itself (503); keep the last sample.
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  let timer = setTimeout(tick, 0);
  return {
    backlog: () => latest,
    over: () => latest !== undefined && latest >= limit,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
