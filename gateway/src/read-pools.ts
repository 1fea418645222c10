// The gateway's PostgreSQL connections, one pool per kind of read (issue 11 point 4): 50 slow searches used to take
// all 10 connections of one shared pool, so plain /logs waited past the pool's 3 s and answered 503, and /live rows
// waited 20-35 s for the hub's fetch. Each kind now has its own connections and its own statement timeout, and
// searches also pass a gate (read-gate.ts) that bounds how many run and how long others wait.
import type pg from 'pg';
import type { BaseConfig } from '@logstream/shared/config.js';
import { PostgresPool } from '@logstream/shared/db.js';
import type { Logger } from '@logstream/shared/logger.js';
import type { ReadGate } from './read-gate.js';

export interface ReadPools {
  /** The live hub's fetches and head probes: never behind a read. */
  live: pg.Pool;
  /** Plain reads: /logs without q, /logs/<id>, /stats from the rollups, /ready. */
  reads: pg.Pool;
  /** Expensive reads: text searches, /stats counted from the rows, /live replays and dropped counts. */
  search: pg.Pool;
  /** The readiness probe: PostgreSQL answers on the plain-reads pool (the others could be busy by design). */
  ready(): Promise<boolean>;
  /** Close every pool; safe to call twice. */
  end(): Promise<void>;
}

/**
 * Connections and statement timeouts per kind: 2 + 4 + 4 = 10, what the one pool had. A plain read is an index
 * lookup (milliseconds) and a live fetch reads at most a page of new rows, so their 5 s is a backstop; a search
 * runs within SEARCH_BUDGET_MS by its own slicing, and 2 s stops one that a slice misjudged (a trigram-index scan
 * of a common word took 0.7 s on 5 M rows).
 */
export const POOL_SIZES = { live: 2, reads: 4, search: 4 } as const;
export const STATEMENT_TIMEOUT_MS = { live: 5_000, reads: 5_000, search: 2_000 } as const;
/**
 * The search pool's connections, shared out: /logs?q= and /stats counted from rows on one side, /live replays and
 * dropped counts on the other, so that 50 full-table replays (each 10 slices of 20,000 ids on 200,000 rows) leave
 * searches their turn: with one gate for both, 126 of 139 searches waited past 3 s and were answered 503.
 */
export const SEARCH_SLOTS = { http: 2, replays: 2 } as const;

export function createReadPools(cfg: BaseConfig, log: Logger): ReadPools {
  const make = (kind: keyof typeof POOL_SIZES) =>
    new PostgresPool(cfg, { max: POOL_SIZES[kind], statement_timeout: STATEMENT_TIMEOUT_MS[kind], application_name: `logstream-gateway-${kind}` }, log, `postgres ${kind}`);
  const pools = { live: make('live'), reads: make('reads'), search: make('search') };
  return {
    live: pools.live.pool,
    reads: pools.reads.pool,
    search: pools.search.pool,
    ready: () => pools.reads.ready(),
    end: async () => void (await Promise.all(Object.values(pools).map((p) => p.close()))),
  };
}

/** What a reader that takes a connection of its own (a transaction, SET LOCAL) needs of a pool. */
export interface Connectable {
  connect(): Promise<pg.PoolClient>;
}

/**
 * `pool` behind `gate`: connect() waits for a slot (or is refused busy) before it takes a connection, and the
 * client's release() gives the slot back. The Loki API and tail take connections this way, so that they share the
 * search connections in turns with /logs?q= and /live replays instead of taking all of them (issue 11 point 4).
 */
export function gatedPool(pool: pg.Pool, gate: ReadGate): Connectable {
  return {
    async connect() {
      await gate.acquire();
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        gate.release();
        throw err;
      }
      // pg-pool gives every checkout a fresh release(); this one frees the slot first, once.
      const release = client.release.bind(client);
      let released = false;
      client.release = (err?: Error | boolean) => {
        if (!released) {
          released = true;
          gate.release();
        }
        release(err);
      };
      return client;
    },
  };
}
