// The queries of the live path: the newest id, rows after a cursor, and counts of skipped ranges; bound to their
// pools as the feed's and the subscriptions' reads at the end.
import type pg from 'pg';
import type { Filter } from '@logstream/shared/protocol.js';
import type { ReadGate } from '../read-gate.js';
import type { FeedReads } from './feed.js';
import { filterWhere } from '../filter-sql.js';
import { LIVE_COLUMNS_SQL, type LiveRow } from '../row-json.js';
import { byteBoundedSql, cutByBytes, PAGE_MAX_BYTES } from '../page-bytes.js';
import { batchWhere, logsSourceSql } from '../sql/logs-source.js';
import { Sql } from '@logstream/shared/sql.js';

export const PAGE_ROWS = 1000;
/**
 * Rows a replay or a dropped count reads per statement: a text filter over the whole table was one 1.7 s scan per
 * subscriber (1 M rows); 20,000 rows take ~30-80 ms here, like the first window of a /logs search.
 */
export const REPLAY_SLICE_ROWS = 20_000;

/**
 * The last id of the slice after `after`: the REPLAY_SLICE_ROWS-th row's id, or `upTo` when fewer are left. Counted
 * in rows, not ids, because ids are sparse: they encode their commit second (migration 006), so 20,000 ids can hold
 * no row at all. One index-only scan of the primary key.
 */
export async function replaySliceEnd(db: pg.Pool | pg.PoolClient, after: number, upTo: number): Promise<number> {
  // Packed rows' ids from the batches' id arrays alone (one column decompressed, not the rows).
  const { rows } = await db.query<{ id: number }>({
    name: 'replay-slice-end',
    text: `SELECT id FROM (
  (SELECT id FROM logs WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3 + 1)
  UNION ALL
  (SELECT i FROM logs_packed b CROSS JOIN LATERAL unnest(b.ids) i WHERE b.id_to > $1 AND b.id_from <= $2 AND i > $1 AND i <= $2 ORDER BY b.id_from, i LIMIT $3 + 1)
) u ORDER BY id OFFSET $3 LIMIT 1`,
    values: [after, upTo, REPLAY_SLICE_ROWS - 1],
  });
  return rows[0]?.id ?? upTo;
}

/** Rows of one read, at most PAGE_ROWS and about PAGE_MAX_BYTES of JSON; `more`: the read stopped at a bound. */
export interface RowPage {
  rows: LiveRow[];
  more: boolean;
}

const page = (rows: (LiveRow & { source_rows: string })[], limit: number): RowPage => ({ rows, more: rows.length === limit || cutByBytes(rows) });

/** The highest stored id: every row with id ≤ it is committed (ids commit in order). */
export const HEAD_ID_SQL = 'SELECT coalesce((SELECT max(id) FROM logs), (SELECT max(id_to) FROM logs_packed), 0)::bigint AS head';

export async function headId(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ head: number }>({ name: 'head-id', text: HEAD_ID_SQL });
  return rows[0]!.head;
}

/** Rows with id > after, oldest first (the feed's one query per notification burst). */
export async function rowsAfter(db: pg.Pool, after: number, limit = PAGE_ROWS, maxBytes = PAGE_MAX_BYTES): Promise<RowPage> {
  const { rows } = await db.query<LiveRow & { source_rows: string }>({
    name: 'rows-after',
    text: byteBoundedSql('SELECT * FROM logs WHERE id > $1 ORDER BY id LIMIT $2', 'ASC', LIVE_COLUMNS_SQL, '$3'),
    values: [after, limit, maxBytes],
  });
  return page(rows, limit);
}

/** Matching rows in (after, upTo], oldest first: replay for `since` and catch-up. */
export async function matchingRows(db: pg.Pool, filter: Filter, after: number, upTo: number, limit = PAGE_ROWS, maxBytes = PAGE_MAX_BYTES): Promise<RowPage> {
  const sql = new Sql([after, upTo]);
  const where = ['id > $1', 'id <= $2', ...filterWhere(filter, sql.values)];
  const packed = batchWhere({ idGt: '$1', idLe: '$2' }, filter, sql);
  const n = sql.param(limit);
  const source = `SELECT * FROM (${logsSourceSql(where, packed, { order: 'ASC', limit: n })}) u ORDER BY id LIMIT ${n}`;
  const { rows } = await db.query<LiveRow & { source_rows: string }>(byteBoundedSql(source, 'ASC', LIVE_COLUMNS_SQL, sql.param(maxBytes)), sql.values);
  return page(rows, limit);
}

/** How many matching rows lie in [from, to]: the size of a range skipped for a slow client. */
export async function countMatching(db: pg.Pool, filter: Filter, from: number, to: number): Promise<number> {
  const sql = new Sql([from, to]);
  const where = ['id >= $1', 'id <= $2', ...filterWhere(filter, sql.values)];
  const packed = batchWhere({ idGe: '$1', idLe: '$2' }, filter, sql);
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${logsSourceSql(where, packed)}) logs`, sql.values);
  return rows[0]!.n;
}

export interface DroppedRange {
  from: number;
  to: number;
  /** Rows of the dropped partitions that reach past the cursor (all services: they cannot be filtered any more). */
  count: number;
}

/** Rows after `after` that retention dropped (logs_dropped, migration 006): the range a resuming client lost. */
export async function droppedAfter(db: pg.Pool, after: number): Promise<DroppedRange | undefined> {
  const { rows } = await db.query<{ from: string | null; to: string | null; n: string | null }>({
    name: 'dropped-after',
    text: 'SELECT min(id_from)::text AS from, (max(id_to) - 1)::text AS to, sum(rows)::text AS n FROM logs_dropped WHERE id_to - 1 > $1',
    values: [after],
  });
  const r = rows[0]!;
  if (r.to === null) return undefined;
  return { from: Math.max(after + 1, Number(r.from)), to: Number(r.to), count: Number(r.n) };
}

/** What a replay or a recovery reads (subscriptions.ts). */
export interface CatchUpReads {
  sliceEnd(after: number, upTo: number): Promise<number>;
  matching(filter: Filter, after: number, upTo: number): Promise<RowPage>;
  countMatching(filter: Filter, from: number, to: number): Promise<number>;
  droppedAfter(after: number): Promise<DroppedRange | undefined>;
}

/** The feed's reads, on the live pool: index probes and pages of new rows, never a scan. */
export function feedReads(db: pg.Pool): FeedReads {
  return { headId: () => headId(db), rowsAfter: (after) => rowsAfter(db, after) };
}

/**
 * Replays and dropped counts, on the search pool behind their own gate: each is an expensive read (issue 11 point
 * 4: 300 `q` + `since=0` subscribes, each a 1.7 s scan, starved every other read). Each reads at most
 * REPLAY_SLICE_ROWS rows per statement and takes the gate per statement, so its cost is bounded, replays take
 * turns, and HTTP searches keep slots of their own.
 */
export function catchUpReads(db: pg.Pool, gate: ReadGate): CatchUpReads {
  return {
    sliceEnd: (after, upTo) => gate.run(() => replaySliceEnd(db, after, upTo)),
    matching: (filter, after, upTo) => gate.run(() => matchingRows(db, filter, after, upTo)),
    countMatching: (filter, from, to) => gate.run(() => countMatching(db, filter, from, to)),
    droppedAfter: (after) => droppedAfter(db, after),
  };
}
