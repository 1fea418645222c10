// The statements of a text search (GET /logs?q=) over packed partitions (issue 15 points 5 and 6): a packed
// partition's rows are only in its batches (migrations 018-021), found through the copy's trigram index on the
// batch's joined messages, then located in the batch by migration 019's logs_pack_find(), each found row tested with
// the same text match as a row of `logs` (text-match.ts). logs-query.ts runs the search loop over them.
import type pg from 'pg';
import type { Sql } from '@logstream/shared/sql.js';
import { byteBoundedSql, cutByBytes } from '../page-bytes.js';
import { ITEM_JSON_SQL } from '../row-json.js';
import { textMatchSql } from '../text-match.js';
import { batchWhere, logsSourceSql, PACKED_ROWS } from './logs-source.js';
import type { PageRows } from './logs-page.js';

/**
 * logs_pack_search_args(q) (migration 019): `re` is NULL when the search must test every row of a candidate batch
 * (q holding a newline, or lower() not per character); `folds` the characters logs_pack_find() replaces.
 */
export interface PackSearchArgs {
  re: string | null;
  lq: string;
  folds: string[] | null;
}

/** An inclusive id range of rows. */
export interface IdRange {
  lo: number;
  hi: number;
}

/**
 * Conditions on batches (alias b) holding rows with ids in `range`: by the batch's first id, which logs_packed is
 * partitioned by, so that a read of one range prunes the other partitions when planned. `floor` is the first id of
 * the partition holding range.lo (a batch starts within its partition), or range.lo.
 */
export function batchRangeWhere(range: IdRange, floor: number, sql: Sql): string[] {
  return [`b.id_from BETWEEN ${sql.param(Math.min(floor, range.lo))} AND ${sql.param(range.hi)}`, `b.id_to >= ${sql.param(range.lo)}`];
}

/**
 * The packed rows in batches meeting `batchConds` whose message contains q and that meet `rowWhere` (conditions on
 * row columns named bare, as filter-sql.ts writes them), by id in `order`, at most `limit` (a parameter reference):
 * a subquery of whole logs rows. With args.re, the batch test is 019's case-sensitive regex of lower()'s preimages
 * (served by the copy's trigram index) and the rows are those logs_pack_find() locates, their columns taken by
 * position (measured in migration 019: 15-21 ms for 152 matches over 1.5 M rows, against 35-44 ms unnesting and
 * testing every row of each candidate batch); without it, ILIKE on the joined messages (the same index) and every
 * row of a candidate batch tested.
 */
export function packedSearchSql(
  q: string,
  args: PackSearchArgs,
  batchConds: readonly string[],
  rowWhere: readonly string[],
  order: 'ASC' | 'DESC',
  limit: string,
  sql: Sql,
  opts: { fenced: boolean },
): string {
  const where = (w: readonly string[]) => (w.length ? `WHERE ${w.join(' AND ')}` : '');
  const match = textMatchSql('message', sql.param(q));
  const text = args.re === null ? batchWhere({}, { services: [], minLevel: 0, q }, sql) : [`logs_msgs_text(b.messages) ~ ${sql.param(args.re)}`];
  // Fenced: the batches of batchConds are read first (by their id index; OFFSET 0 keeps the text test out of that
  // scan) and only they are tested. Left to itself with a window of 300 batches the planner chose the trigram
  // index, whose recheck (the regex on each batch's 20 KB of messages) ran on every candidate batch of the
  // partition before the id range was applied: 89 rechecks for 3 rows of 'deadlock', every batch of the partition
  // for a common word.
  const from = opts.fenced ? `(SELECT * FROM logs_packed b ${where(batchConds)} OFFSET 0) b` : 'logs_packed b';
  const batchTest = opts.fenced ? text : [...batchConds, ...text];
  if (args.re === null) {
    return `SELECT r.* FROM ${from} CROSS JOIN LATERAL ${PACKED_ROWS} ${where([...batchTest, match, ...rowWhere])} ORDER BY r.id ${order} LIMIT ${limit}`;
  }
  const found = `SELECT b.ids[o] AS id, b.stream_ids[o] AS stream_id, b.event_ids[o] AS event_id, b.timestamps[o] AS "timestamp",
           b.received_ats[o] AS received_at, b.levels[o] AS level, b.services[o] AS service, b.messages[o] AS message, b.attrs[o] AS attributes
    FROM ${from} CROSS JOIN LATERAL unnest(logs_pack_find(b.messages, b.msg_starts, ${sql.param(args.lq)}, ${sql.param(args.folds ?? [])}::text[])) o
    ${where(batchTest)}`;
  return `SELECT * FROM (${found}) r ${where([match, ...rowWhere])} ORDER BY id ${order} LIMIT ${limit}`;
}

/**
 * The rows of `logs` meeting `rowWhere`, and those of packed batches meeting `packedWhere` and `rowWhere` when
 * given (a partition swapped in the middle of a search: logs-query.ts), by id in `order`, at most `limit`.
 */
export function rowsSearchSql(rowWhere: readonly string[], packedWhere: readonly string[] | undefined, order: 'ASC' | 'DESC', limit: string): string {
  if (!packedWhere) return `SELECT * FROM logs ${rowWhere.length ? `WHERE ${rowWhere.join(' AND ')}` : ''} ORDER BY id ${order} LIMIT ${limit}`;
  return `SELECT * FROM (${logsSourceSql(rowWhere, packedWhere, { order, limit })}) u ORDER BY id ${order} LIMIT ${limit}`;
}

/** The rows of `source` (ordered by id in `order`, limited) as API items, while their JSON fits `maxBytes`. */
export async function sourcePage(db: pg.Pool, source: string, sql: Sql, order: 'ASC' | 'DESC', maxBytes: number): Promise<PageRows> {
  const text = byteBoundedSql(source, order, `id, ${ITEM_JSON_SQL} AS json`, sql.param(maxBytes));
  const { rows } = await db.query<{ id: number; json: string; bytes_through: string; source_rows: string }>(text, sql.values);
  const bytes = rows.length > 0 ? Number(rows[rows.length - 1]!.bytes_through) : 0;
  return { items: rows.map((r) => r.json), ids: rows.map((r) => Number(r.id)), bytes, cut: cutByBytes(rows) };
}

/**
 * The edge of a window of `batches` packed batches from the `order` end of `range` (newest first: the first id of
 * the batches-th batch down from range.hi; oldest first: the last id of the batches-th up from range.lo), or the
 * range's other end when fewer batches are in it.
 */
export async function packedWindowEdge(db: pg.Pool, order: 'ASC' | 'DESC', range: IdRange, floor: number, batches: number): Promise<number> {
  const { rows } = await db.query<{ edge: string | null }>(
    order === 'DESC'
      ? `SELECT (SELECT id_from FROM logs_packed WHERE id_from BETWEEN $1 AND $2 AND id_to >= $3 ORDER BY id_from DESC OFFSET $4 LIMIT 1) AS edge`
      : `SELECT (SELECT id_to FROM logs_packed WHERE id_from BETWEEN $1 AND $2 AND id_to >= $3 ORDER BY id_from ASC OFFSET $4 LIMIT 1) AS edge`,
    [Math.min(floor, range.lo), range.hi, range.lo, batches - 1],
  );
  const edge = rows[0]!.edge;
  if (edge === null) return order === 'DESC' ? range.lo : range.hi;
  return order === 'DESC' ? Math.max(range.lo, Number(edge)) : Math.min(range.hi, Number(edge));
}

/** Whether a packed batch holds rows with ids in `range`. */
export async function packedBatchIn(db: pg.Pool, range: IdRange): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>(`SELECT EXISTS (SELECT FROM logs_packed WHERE id_from <= $2 AND id_to >= $1) AS found`, [range.lo, range.hi]);
  return rows[0]!.found;
}
