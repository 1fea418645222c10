// PostgreSQL connection helpers: connection settings from config, database creation, pools.
import pg from 'pg';
import type { BaseConfig } from './config.js';
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
