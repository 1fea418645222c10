// The consumer group on the event stream: created when missing (also after a Redis restart that lost it).
import type { Redis } from 'ioredis';

/**
 * Create the group with MKSTREAM, starting at 0 so that entries written before any processor ever ran are
 * processed too. BUSYGROUP (it already exists) is success.
 */
export async function ensureGroup(redis: Redis, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (err) {
    if (!/BUSYGROUP/.test((err as Error).message)) throw err;
  }
}

export const isNoGroupError = (err: unknown) => err instanceof Error && /NOGROUP/.test(err.message);
