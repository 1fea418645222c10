// Redis connections. A service holds RedisConnection objects (state logged once per change, errors that are not about
// the connection reported, ready() for /ready, an idempotent close()); blocking reads (XREADGROUP BLOCK) get a
// connection of their own, so a read parked for BLOCK_MS never delays an ack or a probe.
import { Redis, type RedisOptions } from 'ioredis';
import { backoffDelay, SERVICE_RECONNECT } from './backoff.js';
import type { BaseConfig } from './config.js';
import { ConnectionStateLog, type ConnectionState } from './connection-state.js';
import type { Logger } from './logger.js';

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
  // QUIT is queued like any command: while Redis is down it would wait for a reconnect that shutdown stops.
  if (client.status !== 'ready') return void client.disconnect();
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
  // QUIT's OK arrives before the socket closes: resolve once it has (status 'end'), a second at most.
  const timer = setTimeout(() => client.disconnect(), 1_000);
  await ended;
  clearTimeout(timer);
}

/**
 * One Redis connection of a service: `client` for the commands, `state` and its log lines, `ready()` for the
 * readiness probe, `close()` safe to call twice. ioredis reconnects by itself (retryStrategy above); this object
 * only watches it: 'ready' → ready, 'close' after ready → reconnecting (one warning per outage), 'end' → closed.
 */
export class RedisConnection {
  readonly client: Redis;
  private readonly states: ConnectionStateLog;
  private closing: Promise<void> | undefined;

  constructor(cfg: RedisConfig, options: RedisOptions, log: Logger, name = 'redis') {
    this.client = createRedis(cfg, options);
    const states = (this.states = new ConnectionStateLog(log, name));
    this.client.on('ready', () => states.ready());
    this.client.on('close', () => states.lost());
    this.client.on('end', () => states.closed());
    this.client.on('error', (err: Error) => states.error(err));
  }

  get state(): ConnectionState {
    return this.states.state;
  }

  /** Connected and answering: a command sent now is not refused. No round trip (the probe must stay cheap). */
  ready(): boolean {
    return this.client.status === 'ready';
  }

  close(): Promise<void> {
    // Closed first: the 'close' event of our own QUIT is not an outage.
    this.states.closed();
    return (this.closing ??= closeRedis(this.client));
  }
}
