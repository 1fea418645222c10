// Load for fault tests: loops of POST /send batches with unique messages, recording what the producer answered
// 202 for (must be stored exactly once) and what it did not (may be stored at most once: a request cut by a fault
// can have reached Redis), then a check of the stored rows against those records.
import type pg from 'pg';
import type { Redis } from 'ioredis';
import { replyToMap } from '@logstream/shared/redis.js';
import { waitFor } from '../helpers/test-env.js';

export interface LoadStats {
  /** message → stream id from the 202 answer. */
  accepted: Map<string, string>;
  /** Messages of requests answered otherwise (503, timeout, connection error). */
  uncertain: Set<string>;
  statuses: Map<string, number>;
  requests: number;
}

export interface Load extends LoadStats {
  stop(): Promise<LoadStats>;
  /** Resolves after at least `n` more 202 answers. */
  waitAccepted(n: number, timeoutMs?: number): Promise<void>;
}

export function startLoad(producerUrl: string, prefix: string, opts: { loops?: number; batch?: number; pauseMs?: number } = {}): Load {
  const loops = opts.loops ?? 2;
  const batch = opts.batch ?? 20;
  const pauseMs = opts.pauseMs ?? 10;
  let running = true;
  let seq = 0;
  const stats: LoadStats = { accepted: new Map(), uncertain: new Set(), statuses: new Map(), requests: 0 };
  const count = (k: string) => stats.statuses.set(k, (stats.statuses.get(k) ?? 0) + 1);

  async function loop(): Promise<void> {
    while (running) {
      const messages = Array.from({ length: batch }, () => `${prefix}-${seq++}`);
      const body = JSON.stringify(messages.map((m) => ({ message: m, service: 'faults' })));
      stats.requests++;
      try {
        const res = await fetch(`${producerUrl}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
        count(String(res.status));
        if (res.status === 202) {
          const out = (await res.json()) as { ids: string[] };
          messages.forEach((m, i) => stats.accepted.set(m, out.ids[i]!));
        } else {
          await res.arrayBuffer();
          for (const m of messages) stats.uncertain.add(m);
          await new Promise((r) => setTimeout(r, 100));
        }
      } catch (err) {
        count((err as Error).name);
        for (const m of messages) stats.uncertain.add(m);
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
  const done = Promise.all(Array.from({ length: loops }, loop));
  return Object.assign(stats, {
    async stop() {
      running = false;
      await done;
      return stats;
    },
    async waitAccepted(n: number, timeoutMs = 20_000) {
      const target = stats.accepted.size + n;
      await waitFor(`${n} more accepted events`, () => stats.accepted.size >= target, timeoutMs);
    },
  });
}

export interface Verdict {
  accepted: number;
  uncertain: number;
  stored: number;
  lost: number;
  duplicated: number;
  /** Uncertain events that were stored (once): their request was cut after reaching Redis. */
  storedUncertain: number;
  /** Accepted events stored under another event id than the one the 202 answered (a 202's ids are event ids). */
  otherEventId: number;
}

/** Wait until every group entry is processed, then compare stored rows with what the load recorded. */
export async function verifyStored(pool: pg.Pool, redis: Redis, stream: string, group: string, prefix: string, stats: LoadStats, timeoutMs = 60_000): Promise<Verdict> {
  await waitFor(
    `all ${stats.accepted.size} accepted events stored and the group drained`,
    async () => {
      const { rows } = await pool.query<{ n: number }>('SELECT count(DISTINCT message)::int AS n FROM logs WHERE message LIKE $1', [`${prefix}-%`]);
      if (rows[0]!.n < stats.accepted.size) return false;
      const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
      const g = groups.map((f) => replyToMap(f)).find((m) => m.get('name') === group);
      return !!g && Number(g.get('pending')) === 0 && Number(g.get('lag') ?? 0) === 0;
    },
    timeoutMs,
    200,
  );
  const { rows } = await pool.query<{ message: string; event_id: string }>('SELECT message, event_id::text AS event_id FROM logs WHERE message LIKE $1', [`${prefix}-%`]);
  const seen = new Map<string, number>();
  let otherEventId = 0;
  for (const r of rows) {
    seen.set(r.message, (seen.get(r.message) ?? 0) + 1);
    const id = stats.accepted.get(r.message);
    if (id !== undefined && id !== r.event_id) otherEventId++;
  }
  let lost = 0;
  for (const m of stats.accepted.keys()) if (!seen.has(m)) lost++;
  let duplicated = 0;
  let storedUncertain = 0;
  let unexpected = 0;
  for (const [m, n] of seen) {
    if (n > 1) duplicated += n - 1;
    if (!stats.accepted.has(m)) {
      if (stats.uncertain.has(m)) storedUncertain++;
      else unexpected++;
    }
  }
  if (unexpected > 0) throw new Error(`${unexpected} stored rows match no request of the load`);
  return { accepted: stats.accepted.size, uncertain: stats.uncertain.size, stored: rows.length, lost, duplicated, storedUncertain, otherEventId };
}
