// Consumers of processors that died (SIGKILL, lost hosts) stay listed in the group for ever; each start adds a new
// name (host-pid-random). Forget those that hold nothing pending and have not read for a long time. A live
// processor reads at least every BLOCK_MS, so its idle time stays small; if one were removed anyway, its next
// XREADGROUP would simply recreate it.
import type { Redis } from 'ioredis';
import { replyToMap } from '@logstream/shared/redis.js';

export const RETIRE_IDLE_MS = 60 * 60 * 1000;

/** XGROUP DELCONSUMER every consumer with 0 pending and idle ≥ idleMs; returns their names. */
export async function retireIdleConsumers(redis: Redis, stream: string, group: string, self: string, idleMs = RETIRE_IDLE_MS): Promise<string[]> {
  const consumers = (await redis.xinfo('CONSUMERS', stream, group)) as unknown[][];
  const retired: string[] = [];
  for (const c of consumers) {
    const info = replyToMap(c);
    const name = String(info.get('name'));
    if (name === self || Number(info.get('pending')) > 0 || Number(info.get('idle')) < idleMs) continue;
    await redis.xgroup('DELCONSUMER', stream, group, name);
    retired.push(name);
  }
  return retired;
}
