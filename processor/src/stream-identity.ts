// The identity of the stream this processor reads: a random id stored next to the stream, created by whichever
// processor asks first (SET NX GET: one round trip), so that every processor of the stream uses the same one.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { StreamKeys } from '@logstream/shared/keys.js';

export async function streamIdentity(redis: Redis, keys: StreamKeys): Promise<string> {
  const mine = randomUUID();
  const existing = (await redis.call('SET', keys.identity, mine, 'NX', 'GET')) as string | null;
  return existing ?? mine;
}
