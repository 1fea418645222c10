// The queries of the live path: the newest id, rows after a cursor, and counts of skipped ranges.
import type pg from 'pg';
import type { Filter } from '../../shared/src/protocol.js';
import { filterWhere } from './logs-query.js';
import { LIVE_COLUMNS_SQL, type LiveRow } from './row-json.js';
import { byteBoundedSql, cutByBytes, PAGE_MAX_BYTES } from './page-bytes.js';

export const PAGE_ROWS = 1000;
/**
 * Ids a replay or a dropped count reads per statement: a text filter over the whole table was one 1.7 s scan per
 * subscriber (1 M rows); 20,000 ids take ~30-80 ms here, like the first window of a /logs search.
 */
export const REPLAY_SLICE_IDS = 20_000;

/** Rows of one read, at most PAGE_ROWS and about PAGE_MAX_BYTES of JSON; `more`: the read stopped at a bound. */
export interface RowPage {
  rows: LiveRow[];
  more: boolean;
}

const page = (rows: (LiveRow & { source_rows: string })[], limit: number): RowPage => ({ rows, more: rows.length === limit || cutByBytes(rows) });

export async function headId(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ head: number }>({ name: 'head-id', text: 'SELECT coalesce(max(id), 0)::bigint AS head FROM logs' });
  return rows[0]!.head;
}

/** Rows with id > after, oldest first (the hub's one query per notification burst). */
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
  const values: unknown[] = [after, upTo];
  const where = ['id > $1', 'id <= $2', ...filterWhere(filter, values)];
  values.push(limit, maxBytes);
  const source = `SELECT * FROM logs WHERE ${where.join(' AND ')} ORDER BY id LIMIT $${values.length - 1}`;
  const { rows } = await db.query<LiveRow & { source_rows: string }>(byteBoundedSql(source, 'ASC', LIVE_COLUMNS_SQL, `$${values.length}`), values);
  return page(rows, limit);
}

/** How many matching rows lie in [from, to]: the size of a range skipped for a slow client. */
export async function countMatching(db: pg.Pool, filter: Filter, from: number, to: number): Promise<number> {
  const values: unknown[] = [from, to];
  const where = ['id >= $1', 'id <= $2', ...filterWhere(filter, values)];
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM logs WHERE ${where.join(' AND ')}`, values);
  return rows[0]!.n;
}
