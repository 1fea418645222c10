// Trim only what every consumer group has acknowledged: no blind MAXLEN, so unprocessed entries are never lost.
import type { Redis } from 'ioredis';
import { replyToMap } from '@logstream/shared/redis.js';

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/**
 * The smallest id still needed by some group: its oldest pending entry, or, with nothing pending, its last
 * delivered id (everything before it is acked). Undefined when the stream has no group (nothing may be trimmed).
 */
export async function safeMinId(redis: Redis, stream: string): Promise<string | undefined> {
  const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  if (groups.length === 0) return undefined;
  let min: string | undefined;
  for (const g of groups) {
    const info = replyToMap(g);
    const name = String(info.get('name'));
    let needed = String(info.get('last-delivered-id'));
    if (Number(info.get('pending')) > 0) {
      const summary = (await redis.xpending(stream, name)) as unknown[];
      if (summary[1]) needed = String(summary[1]);
    }
    if (min === undefined || compareIds(needed, min) < 0) min = needed;
  }
  return min;
}

/** XTRIM … MINID ~ <safe id>; returns the number of entries removed. */
export async function trimAcknowledged(redis: Redis, stream: string): Promise<number> {
  const min = await safeMinId(redis, stream);
  if (!min || min === '0-0') return 0;
  return (await redis.xtrim(stream, 'MINID', '~', min)) as number;
}
