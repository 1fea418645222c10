// The rows a read reaches, wherever they are stored (issue 15 point 6): partitions still stored as rows are in
// `logs`; closed partitions older than the dedupe window are packed, 100 rows to a tuple, into `logs_packed`
// (migrations 018-021) and their rows are gone from `logs`. Every read that can reach an old row takes its rows from
// logsSourceSql(): both tables in one statement, so a swap (021's logs_pack_swap, one transaction whose DETACH locks
// `logs`) is seen whole or not at all, and no row is missing or doubled while a partition is swapped.
//
// The packed branch unnests the batches that can hold a matching row (pruned by the batch's id and time range,
// level mask, service set and trigram index, each through an index of the copy) and tests each row with the same
// conditions as the row branch: the conditions name the row columns bare (`id`, `"timestamp"`, `level`, `service`,
// `message`, `attributes`, `event_id`), which no batch column shares (020).
import type { Filter } from '@logstream/shared/protocol.js';
import type { Sql } from '@logstream/shared/sql.js';
import { likePattern } from '../filter-sql.js';

/** The rows (alias r, rows of logs) of the batch b beside it in a FROM: `<batches b> CROSS JOIN LATERAL ${PACKED_ROWS}`. */
export const PACKED_ROWS = 'logs_unpack(b.ids, b.stream_ids, b.event_ids, b.timestamps, b.received_ats, b.levels, b.services, b.messages, b.attrs) r';

/** Every packed batch's rows, beside the batch's own columns (alias b). */
export const PACKED_ROWS_FROM = `logs_packed b CROSS JOIN LATERAL ${PACKED_ROWS}`;

/** Bounds of a read on id and "timestamp" (SQL expressions: parameter references or literals). */
export interface RowBounds {
  idGt?: string;
  idGe?: string;
  idLt?: string;
  idLe?: string;
  tsGt?: string;
  tsGe?: string;
  tsLt?: string;
  tsLe?: string;
}

/**
 * Conditions on a batch (alias b) that every batch holding a row within `bounds` and matching `filter` meets: each a
 * superset test, so the rows are still tested one by one. `filter.q` adds the trigram test of the batch's joined
 * messages (ILIKE is lower() LIKE lower() in a UTF-8 database, as filter-sql.ts says, and a message's text is in the
 * joined text).
 */
export function batchWhere(bounds: RowBounds, filter: Filter | undefined, sql: Sql): string[] {
  const w: string[] = [];
  if (bounds.idGt) w.push(`b.id_to > ${bounds.idGt}`);
  if (bounds.idGe) w.push(`b.id_to >= ${bounds.idGe}`);
  if (bounds.idLt) w.push(`b.id_from < ${bounds.idLt}`);
  if (bounds.idLe) w.push(`b.id_from <= ${bounds.idLe}`);
  if (bounds.tsGt) w.push(`b.ts_max > ${bounds.tsGt}`);
  if (bounds.tsGe) w.push(`b.ts_max >= ${bounds.tsGe}`);
  if (bounds.tsLt) w.push(`b.ts_min < ${bounds.tsLt}`);
  if (bounds.tsLe) w.push(`b.ts_min <= ${bounds.tsLe}`);
  if (filter) {
    if (filter.services.length > 0) w.push(`b.service_set && ${sql.param(filter.services)}::text[]`);
    // level_mask has bit level/10 set for each level present, so a batch with a row at or above minLevel has a mask
    // of at least 1 << floor(minLevel / 10). A literal, so that the copy's partial index (level_mask >= 32) serves
    // level=error.
    if (filter.minLevel > 0) w.push(`b.level_mask >= ${1 << Math.floor(Math.trunc(Number(filter.minLevel)) / 10)}`);
    if (filter.q !== '') w.push(`logs_msgs_text(b.messages) ILIKE ${sql.param(likePattern(filter.q))}`);
  }
  return w;
}

export interface SourceOrder {
  order: 'ASC' | 'DESC';
  /** Rows each table contributes at most (an SQL expression): the caller limits the union again. */
  limit: string;
}

/**
 * The rows of `logs` meeting `rowWhere` (conditions on row columns, named bare) and those of packed batches meeting
 * `packedWhere` (batchWhere()) and `rowWhere`, as one SQL subquery (without alias) of whole logs rows. With `order`,
 * each part is ordered and limited: by id, the packed part reads batches in id order (ids of batches are disjoint
 * and consecutive) and stops after `limit` rows. (Reads in time order, the Loki API's, have their own:
 * logql/packed-where.ts.)
 */
export function logsSourceSql(rowWhere: readonly string[], packedWhere: readonly string[], order?: SourceOrder): string {
  const where = (w: readonly string[]) => (w.length ? `WHERE ${w.join(' AND ')}` : '');
  if (!order) {
    return `(SELECT * FROM logs ${where(rowWhere)})
  UNION ALL
  (SELECT r.* FROM ${PACKED_ROWS_FROM} ${where([...packedWhere, ...rowWhere])})`;
  }
  const rowsTail = ` ORDER BY id ${order.order} LIMIT ${order.limit}`;
  const packedTail = ` ORDER BY b.id_from ${order.order}, r.id ${order.order} LIMIT ${order.limit}`;
  // The batches in id order in a subquery of their own (OFFSET 0 keeps it one): unnesting is what costs (a batch's
  // arrays decompressed), and left to itself the planner may unnest every batch in range and sort all their rows
  // (bench/diagnostics/packed-pages.ts: a replay slice of 1,000 rows read 600 batches, 136 ms, against 11).
  // And not at all when the rows read from logs fill the page and lie beyond every packed id (the newest page of a
  // table whose old partitions are packed; logs_legacy, below the packed ids, is why it is not enough that they
  // fill it): a one-time test of the materialized rows.
  const gate = order.order === 'DESC'
    ? `((SELECT count(*) FROM h) < ${order.limit} OR (SELECT min(id) FROM h) < (SELECT max(id_to) FROM logs_packed))`
    : `((SELECT count(*) FROM h) < ${order.limit} OR (SELECT max(id) FROM h) > (SELECT min(id_from) FROM logs_packed))`;
  return `WITH h AS MATERIALIZED (SELECT * FROM logs ${where(rowWhere)}${rowsTail})
  SELECT * FROM h
  UNION ALL
  (SELECT r.* FROM (SELECT * FROM logs_packed b ${where([gate, ...packedWhere])} ORDER BY b.id_from ${order.order} OFFSET 0) b
     CROSS JOIN LATERAL ${PACKED_ROWS} ${where(rowWhere)}${packedTail})`;
}
