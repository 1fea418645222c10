// Redis connection helpers. Blocking reads (XREADGROUP BLOCK) get their own connection.
import { Redis, type RedisOptions } from 'ioredis';
import { backoffDelay, SERVICE_RECONNECT } from './backoff.js';
import type { BaseConfig } from './config.js';

type RedisConfig = Pick<BaseConfig, 'REDIS_URL' | 'REDIS_HOST' | 'REDIS_PORT' | 'REDIS_PASSWORD'>;

export type { Redis };

export function createRedis(cfg: RedisConfig, options: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    // ioredis counts reconnect attempts from 1 and resets them on connect.
    retryStrategy: (times) => backoffDelay(times, SERVICE_RECONNECT),
    lazyConnect: false,
    ...options,
  };
  const client = cfg.REDIS_URL
    ? new Redis(cfg.REDIS_URL, common)
    : new Redis({ host: cfg.REDIS_HOST, port: cfg.REDIS_PORT, password: cfg.REDIS_PASSWORD, ...common });
  // Errors surface through the commands that fail; an 'error' event without a listener would crash the process.
  client.on('error', () => {});
  return client;
}

/**
 * Options for a connection that serves client requests: refuse at once instead of queueing while Redis is down. No
 * command timeout: it answered before Redis did, for writes Redis then made (issue 11 point 1); the producer bounds
 * the wait itself (producer/src/batch-writer.ts). Never resend a command after a reconnect: it may have run.
 */
export const requestOptions: RedisOptions = {
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
};

/** Options for a worker connection that may block (XREADGROUP BLOCK): never give up on a command. */
export const workerOptions: RedisOptions = {
  maxRetriesPerRequest: null,
  connectTimeout: 2_000,
};

/** A flat [field, value, …] reply (XINFO GROUPS/CONSUMERS entries) as a Map. */
export function replyToMap(flat: readonly unknown[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) out.set(String(flat[i]), flat[i + 1]);
  return out;
}

export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
