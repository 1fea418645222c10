// Configuration is parsed once, at start-up, from the environment (CONTRACT §2). A `.env` file in the repo
// root is read when present; real environment variables win over it. Any bad value stops the service with
// one message naming every bad variable.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

let envFileLoaded = false;
/** Read the repo root's `.env` into process.env once (also for scripts that take no config schema, e.g. ship). */
export function loadEnvFile(): void {
  if (envFileLoaded) return;
  envFileLoaded = true;
  const path = `${REPO_ROOT}.env`;
  // process.loadEnvFile never overrides a variable that is already set.
  if (existsSync(path)) process.loadEnvFile(path);
}

const int = (min: number, max: number) => {
  const expected = `expected an integer from ${min} to ${max}`;
  return z.coerce.number({ error: expected }).int(expected).min(min, expected).max(max, expected);
};
const port = int(1, 65535);
const list = z
  .string()
  .default('')
  .transform((s) => s.split(',').map((t) => t.trim()).filter((t) => t.length > 0));
const optionalString = z
  .string()
  .optional()
  .transform((s) => (s === '' ? undefined : s));

/** Variables every service understands, with every default in one place. */
export const baseShape = {
  REDIS_URL: optionalString,
  REDIS_HOST: z.string().min(1).default('127.0.0.1'),
  REDIS_PORT: port.default(6379),
  REDIS_PASSWORD: optionalString,
  REDIS_STREAM: z.string().min(1).max(200).default('logs'),
  REDIS_GROUP: z.string().min(1).max(200).default('processors'),
  DATABASE_URL: optionalString,
  DB_HOST: z.string().min(1).default('127.0.0.1'),
  DB_PORT: port.default(5432),
  POSTGRES_USER: z.string().min(1).default('postgres'),
  POSTGRES_PASSWORD: optionalString,
  POSTGRES_DB: z.string().min(1).max(63).default('logstream'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  // Rows of one NOTIFY channel; several stacks may share a database only with different channels.
  NOTIFY_CHANNEL: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case SQL identifier').default('logs_new'),
};

/** WebSockets a service keeps open at once (shared/src/connection-cap.ts); unset: 16,384, or less to fit the fd limit. */
const maxConnections = { MAX_CONNECTIONS: int(1, 10_000_000).optional() };

export const ingestShape = {
  ...maxConnections,
  DEFAULT_LOG_MESSAGE: z.string().min(1).default('log event'),
  INGEST_TOKENS: list,
  MAX_BODY_BYTES: int(1024, 1024 ** 3).default(10 * 1024 * 1024),
  // Unprocessed entries (consumer-group lag) above which the producer answers 503 instead of accepting more.
  STREAM_MAX_BACKLOG: int(1, 1_000_000_000).default(1_000_000),
  INGEST_RATE_LIMIT: int(0, 100_000_000).default(0),
  // Listeners of the shipper protocols beside PORT (issue 14); 0 = off. 4318 is the OTLP/HTTP default port.
  OTLP_HTTP_PORT: int(0, 65535).default(4318),
  SYSLOG_PORT: int(0, 65535).default(5514),
  // A batch sent to Redis is answered from Redis's reply; with none after this long its outcome is unknown (503
  // outcome_unknown). Replies under the in-flight cap below take well under 1 s (issue 11 point 1).
  REDIS_REPLY_TIMEOUT_MS: int(100, 60_000).default(5_000),
  // Serialized event bytes sent to Redis and not yet answered, beyond which a batch is refused (503) before it is sent.
  MAX_INFLIGHT_BYTES: int(1024 * 1024, 1024 ** 3).default(32 * 1024 * 1024),
};

export const processorShape = {
  BATCH_SIZE: int(1, 10_000).default(1000),
  BLOCK_MS: int(1, 60_000).default(1000),
  CLAIM_IDLE_MS: int(100, 86_400_000).default(30_000),
  CLAIM_INTERVAL_MS: int(100, 3_600_000).default(5_000),
  MAX_DELIVERIES: int(1, 1000).default(5),
  CONSUMER_NAME: optionalString,
};

/** `90m`, `1h`, `7d`, or plain seconds (`86400`) → seconds; `0` → 0 when `zero` says what 0 means ("off"). */
const duration = (min: number, zero: string | false) => {
  const expected = `expected a duration such as 90m, 1h or 7d, or seconds${zero ? ` (0: ${zero})` : ''}, at least ${min} s`;
  const units: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };
  return z.string({ error: expected }).transform((raw, ctx) => {
    if (zero && raw === '0') return 0;
    const m = /^(\d{1,10})([smhd]?)$/.exec(raw);
    const seconds = m ? Number(m[1]) * units[m[2]!]! : NaN;
    if (!(seconds >= min)) {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
    return seconds;
  });
};
/** `500000000`, `500MB`, `20GB`, `1TB` → bytes. */
const bytes = z
  .string()
  .regex(/^\d{1,15}(kB|MB|GB|TB)?$/, 'expected a size in bytes, or with kB, MB, GB or TB (1000-based), e.g. 20GB')
  .transform((raw) => {
    const m = /^(\d+)(kB|MB|GB|TB)?$/.exec(raw)!;
    return Number(m[1]) * { kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, '': 1 }[m[2] ?? '']!;
  });

/** Storage lifecycle (issue 15): partitions of logs, retention, rollups; applied by the processors' maintenance loop. */
export const storageShape = {
  /** One partition of logs per interval (seconds), aligned to the epoch (UTC). */
  PARTITION_INTERVAL: duration(60, false).default(86_400),
  /** Partitions stored longer ago than this (seconds) are dropped whole; 0 keeps everything. */
  RETENTION: duration(60, 'keep everything').default(7 * 86_400),
  /** Oldest partitions are dropped while all of them take more than this; unset: no size limit. */
  RETENTION_MAX_BYTES: bytes.optional(),
  /** Rows of the /stats rollups (logs_per_minute, logs_per_hour) older than this (seconds) are deleted; 0 keeps them. */
  ROLLUP_RETENTION: duration(60, 'keep everything').default(90 * 86_400),
  MAINTENANCE_INTERVAL_MS: int(100, 3_600_000).default(60_000),
  /**
   * A closed partition is packed (100 rows a tuple, logs_packed: shared/src/pack.ts) once its whole range is older
   * than this (seconds); 0: never. Unset: 2 × PARTITION_INTERVAL, the least allowed (storageChecks below). Typed as
   * always set: parseConfig fills the default.
   */
  PACK_AFTER: duration(60, 'never pack').optional() as unknown as z.ZodType<number>,
  /** closed: build a trigram search index on each partition once it closes (shared/src/search-index.ts); off: never. */
  SEARCH_INDEX: z.enum(['closed', 'off']).default('closed'),
};

export const gatewayShape = {
  ...maxConnections,
  READ_TOKENS: list,
  POLL_INTERVAL_MS: int(100, 600_000).default(2_000),
  LIVE_MAX_BACKPRESSURE: int(1024, 1024 ** 3).default(1024 * 1024),
  /** Time a `q` search without the search index reads rows: /logs answers with a cursor, /stats with part of the window. */
  SEARCH_BUDGET_MS: int(0, 60_000).default(50),
  MAX_BODY_BYTES: int(1024, 1024 ** 3).default(10 * 1024 * 1024),
};

/**
 * Rules between variables, applied when a shape holds them: PACK_AFTER defaults to, and may not be below, 2 ×
 * PARTITION_INTERVAL. A packed partition is not searched for copies of an event: logs_begin_batch (migration 006)
 * looks a batch's event ids up in the partitions of the last PARTITION_INTERVAL of ids, and a packed batch has no
 * event-id uniqueness, so only a partition whose whole range is older than that window may be packed (the
 * partition before the one being written is still in it).
 */
function storageChecks(c: Record<string, unknown>, problems: string[], cleaned: Record<string, string>): void {
  const interval = c.PARTITION_INTERVAL as number;
  if (c.PACK_AFTER === undefined) c.PACK_AFTER = 2 * interval;
  const after = c.PACK_AFTER as number;
  if (after > 0 && after < 2 * interval) {
    problems.push(
      `PACK_AFTER=${JSON.stringify(cleaned.PACK_AFTER ?? '')}: must be 0 (never pack) or at least 2 × PARTITION_INTERVAL (${2 * interval} s): ` +
        `copies of an event are looked for in the partitions of the last PARTITION_INTERVAL, and a packed partition is not searched`,
    );
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parse the environment with the given shape; throws ConfigError naming each bad variable. */
export function parseConfig<S extends z.ZodRawShape>(
  shape: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<S>> {
  if (env === process.env) loadEnvFile();
  // Treat empty strings as "not set" so that `FOO=` in .env falls back to the default.
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const result = z.object(shape).safeParse(cleaned);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      return `${name}=${JSON.stringify(cleaned[name] ?? '')}: ${i.message}`;
    });
    throw new ConfigError(problems);
  }
  const data = result.data as Record<string, unknown>;
  const problems: string[] = [];
  if ('PACK_AFTER' in shape && 'PARTITION_INTERVAL' in shape) storageChecks(data, problems, cleaned);
  if (problems.length > 0) throw new ConfigError(problems);
  return data as z.infer<z.ZodObject<S>>;
}

/** Parse or exit: the start-up form, which prints one line naming each bad variable. */
export function loadConfig<S extends z.ZodRawShape>(shape: S, serviceName: string): z.infer<z.ZodObject<S>> {
  try {
    return parseConfig(shape, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${serviceName}: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}

export type BaseConfig = z.infer<z.ZodObject<typeof baseShape>>;

/**
 * The listen address: HOST when set, otherwise the loopback interface. Tokens are off by default, so a service
 * started on a laptop is reachable from this machine only until HOST says otherwise; the image sets HOST=0.0.0.0
 * (containers are reached through their published ports, i.e. from outside their own loopback).
 */
export function listenHost(env: NodeJS.ProcessEnv = process.env): string {
  if (env === process.env) loadEnvFile();
  const raw = env.HOST;
  if (raw === undefined || raw === '') return DEFAULT_HOST;
  if (!/^[A-Za-z0-9.:%_-]{1,253}$/.test(raw)) {
    console.error(`invalid configuration: HOST=${JSON.stringify(raw)}: expected an IP address or host name, e.g. 127.0.0.1 or 0.0.0.0 (all interfaces)`);
    process.exit(1);
  }
  return raw;
}

export const DEFAULT_HOST = '127.0.0.1';

/** The listen port: PORT when set, otherwise the service's default from CONTRACT §1. */
export function listenPort(defaultPort: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.PORT;
  if (raw === undefined || raw === '') return defaultPort;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    console.error(`invalid configuration: PORT=${JSON.stringify(raw)}: expected an integer 0-65535`);
    process.exit(1);
  }
  return value;
}
