// The statements of GET /stats (stats-query.ts decides which source answers and runs them in one snapshot).
import type pg from 'pg';
import type { Filter, StatsResponse } from '@logstream/shared/protocol.js';
import { INDEXED_RANGES_SQL } from '@logstream/shared/search-index.js';
import { HEAD_ID_SQL } from '../live/queries.js';
import { batchWhere, logsSourceSql, PACKED_ROWS_FROM } from './logs-source.js';
import { Sql } from '@logstream/shared/sql.js';
import { filterWhere } from '../filter-sql.js';

export type CountSource = StatsResponse['source'];

/** The id range (inclusive) of a search index chunk. */
export interface SearchChunk {
  lo: number;
  hi: number;
}

/** The search index chunks (not whole partitions' indexes), in the caller's snapshot. */
export async function searchChunks(c: pg.PoolClient): Promise<SearchChunk[]> {
  const { rows } = await c.query<{ lo: string; hi: string }>(`SELECT greatest(id_from, 0)::text AS lo, (id_to - 1)::text AS hi FROM (${INDEXED_RANGES_SQL}) r WHERE NOT whole ORDER BY id_from`);
  return rows.map((r) => ({ lo: Number(r.lo), hi: Number(r.hi) }));
}

/** One count of the histogram: (bucket, level) rows for the bars and by_level, (service) rows for by_service. */
export interface GroupRow {
  b: number | null;
  level: number | null;
  service: string | null;
  n: string;
}

/** The table, time column and count of each source; rollup rows use `service`/`level` columns just like logs. */
const SOURCES: Record<CountSource, { table: string; timeCol: string; count: string }> = {
  logs: { table: 'logs', timeCol: '"timestamp"', count: 'count(*)' },
  rollup_hour: { table: 'logs_per_hour', timeCol: 'hour', count: 'sum(n)' },
  rollup_minute: { table: 'logs_per_minute', timeCol: 'minute', count: 'sum(n)' },
};

/**
 * Rows matching `filter` in (now - spanMs, now], and the newest id, in one statement: read in the same snapshot as
 * the bucket counts, so that they cover exactly the rows with id ≤ head.
 */
export async function rateAndHead(c: pg.PoolClient, filter: Filter, now: number, spanMs: number): Promise<{ rate: number; head: number }> {
  const sql = new Sql();
  const where = filterWhere(filter, sql.values);
  const [gt, le] = [sql.param(new Date(now - spanMs)), sql.param(new Date(now))];
  where.push(`"timestamp" > ${gt}`, `"timestamp" <= ${le}`);
  const packed = batchWhere({ tsGt: gt, tsLe: le }, filter, sql);
  const { rows } = await c.query<{ n: string; head: string }>(
    `SELECT (SELECT count(*) FROM (${logsSourceSql(where, packed)}) logs)::text AS n, (${HEAD_ID_SQL})::text AS head`,
    sql.values,
  );
  return { rate: Number(rows[0]!.n), head: Number(rows[0]!.head) };
}

/**
 * Counts of the buckets of `bucketMs` in [from, to) (epoch ms) from `source`; `b` is the bucket's number from
 * `from`. The filter's q never reaches a rollup (stats-query.ts counts a search from logs).
 */
export async function bucketCounts(c: pg.PoolClient, filter: Filter, source: CountSource, bucketMs: number, from: number, to: number, chunks: readonly SearchChunk[] = []): Promise<GroupRow[]> {
  const { timeCol, count } = SOURCES[source];
  let { table } = SOURCES[source];
  const sql = new Sql();
  const where = filterWhere(filter, sql.values);
  const [ge, lt] = [sql.param(new Date(from)), sql.param(new Date(to))];
  where.unshift(`${timeCol} >= ${ge}`, `${timeCol} < ${lt}`);
  if (source === 'logs') {
    // A text search counts the rows of each search index chunk (shared/src/search-index.ts) in a branch of its own,
    // bounded by the chunk's literal id range, so that the planner can prove the chunk's partial predicate and read
    // it through its index; the other rows (closed partitions with their whole index, the unindexed tail) in one
    // more; packed partitions' rows in the last (logs-source.ts).
    const within = filter.q !== '' ? chunks.map((k) => `id BETWEEN ${Math.trunc(k.lo)} AND ${Math.trunc(k.hi)}`) : [];
    const rows = within.length > 0 ? [...within.map((w) => `SELECT * FROM logs WHERE ${w}`), `SELECT * FROM logs WHERE NOT (${within.join(' OR ')})`] : ['SELECT * FROM logs'];
    const packed = batchWhere({ tsGe: ge, tsLt: lt }, filter, sql);
    table = `(${rows.join(' UNION ALL ')} UNION ALL SELECT r.* FROM ${PACKED_ROWS_FROM} WHERE ${packed.join(' AND ')}) logs`;
  }
  // Two groupings of one scan: (bucket, level) for the histogram and by_level, (service) for by_service (two
  // SELECTs read the rows twice: bench, 15 minutes of 5 M rows with q, ~50 → ~25 ms per 15 s bucket).
  const pBucket = sql.param(bucketMs);
  const bucket = `floor((extract(epoch FROM ${timeCol}) * 1000 - ${sql.param(from)}::float8) / ${pBucket}::float8)::int`;
  const { rows } = await c.query<GroupRow>(
    `SELECT ${bucket} AS b, level, service, ${count}::text AS n
FROM ${table} WHERE ${where.join(' AND ')} GROUP BY GROUPING SETS ((${bucket}, level), (service))`,
    sql.values,
  );
  return rows;
}
