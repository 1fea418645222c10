// PostgreSQL connections: settings from config, database creation, and the services' pools as PostgresPool objects
// (state logged once per change, errors that are not about the connection reported, ready() for /ready, an
// idempotent close()).
import pg from 'pg';
import type { BaseConfig } from './config.js';
import { ConnectionStateLog, type ConnectionState } from './connection-state.js';
import type { Logger } from './logger.js';
import { PROBE_TIMEOUT_MS, withTimeout } from './timeout.js';
import { hasSqlState } from './sqlstate.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// int8 (ids) arrive as strings by default; our ids stay far below 2^53, so numbers are safe and cheaper.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

type DbConfig = Pick<BaseConfig, 'DATABASE_URL' | 'DB_HOST' | 'DB_PORT' | 'POSTGRES_USER' | 'POSTGRES_PASSWORD' | 'POSTGRES_DB'>;

export function connectionConfig(cfg: DbConfig, database?: string): pg.ClientConfig {
  if (cfg.DATABASE_URL) {
    if (!database) return { connectionString: cfg.DATABASE_URL };
    const url = new URL(cfg.DATABASE_URL);
    url.pathname = `/${database}`;
    return { connectionString: url.toString() };
  }
  return {
    host: cfg.DB_HOST,
    port: cfg.DB_PORT,
    user: cfg.POSTGRES_USER,
    password: cfg.POSTGRES_PASSWORD,
    database: database ?? cfg.POSTGRES_DB,
  };
}

export function databaseName(cfg: DbConfig): string {
  if (cfg.DATABASE_URL) return decodeURIComponent(new URL(cfg.DATABASE_URL).pathname.slice(1)) || 'postgres';
  return cfg.POSTGRES_DB;
}

export function createPool(cfg: DbConfig, options: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({
    ...connectionConfig(cfg),
    max: 10,
    // Never hold a request open waiting for a broken database longer than a few seconds (CONTRACT §7).
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    ...options,
  });
  // An idle client losing its connection emits on the pool; without a listener that would crash the process.
  pool.on('error', () => {});
  return pool;
}

/**
 * A service's pool: `pool` for the queries, `state` and its log lines, `ready()` the readiness probe (SELECT 1 within
 * PROBE_TIMEOUT_MS, the one probe of every service), `close()` safe to call twice (pg's end() throws the second
 * time). pg reconnects by itself, one client at a time as queries need them: a client that connects says ready, an
 * idle client's connection error or a failed probe says reconnecting.
 */
export class PostgresPool {
  readonly pool: pg.Pool;
  private readonly states: ConnectionStateLog;
  private closing: Promise<void> | undefined;

  constructor(cfg: DbConfig, options: pg.PoolConfig, log: Logger, name = 'postgres') {
    this.pool = createPool(cfg, options);
    const states = (this.states = new ConnectionStateLog(log, name));
    this.pool.on('connect', () => states.ready());
    this.pool.on('error', (err) => {
      states.error(err);
      states.lost(err);
    });
  }

  get state(): ConnectionState {
    return this.states.state;
  }

  /** PostgreSQL answers a query on this pool within PROBE_TIMEOUT_MS. */
  async ready(): Promise<boolean> {
    try {
      await withTimeout(this.pool.query('SELECT 1'), PROBE_TIMEOUT_MS);
      this.states.ready();
      return true;
    } catch (err) {
      this.states.error(err);
      this.states.lost(err);
      return false;
    }
  }

  close(): Promise<void> {
    this.states.closed();
    return (this.closing ??= this.pool.end());
  }
}

/** Create the database when it is missing; safe when several services do it at once. */
export async function ensureDatabase(cfg: DbConfig): Promise<void> {
  const name = databaseName(cfg);
  const probe = new pg.Client({ ...connectionConfig(cfg), connectionTimeoutMillis: 3_000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.end();
    return;
  } catch (err) {
    await probe.end().catch(() => {});
    if (!hasSqlState(err, 'invalidCatalogName')) throw err; // the database does not exist: create it below
  }
  const admin = new pg.Client({ ...connectionConfig(cfg, 'postgres'), connectionTimeoutMillis: 3_000 });
  admin.on('error', () => {});
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } catch (err) {
    // It exists, or a concurrent CREATE DATABASE won the race (unique_violation on pg_database).
    if (!hasSqlState(err, 'duplicateDatabase') && !hasSqlState(err, 'uniqueViolation')) throw err;
  } finally {
    await admin.end().catch(() => {});
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
