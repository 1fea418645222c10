// The statements of GET /logs and GET /logs/<id> (logs-query.ts builds the conditions and runs the search loop).
import type pg from 'pg';
import type { Sql } from '@logstream/shared/sql.js';
import { byteBoundedSql, cutByBytes } from '../page-bytes.js';
import { ITEM_JSON_SQL } from '../row-json.js';

/** Rows as API items, serialized by PostgreSQL, in the order asked. */
export interface PageRows {
  items: string[];
  ids: number[];
  /** The page stopped at its byte budget before `limit` rows: continue after its last. */
  cut?: boolean;
  /** JSON bytes of the items. */
  bytes: number;
}

/** Up to `limit` rows matching `where` (parameters in `sql`) by id in `order`, while their JSON fits `maxBytes`. */
export async function logsPage(db: pg.Pool, where: readonly string[], sql: Sql, order: 'ASC' | 'DESC', limit: number, maxBytes: number): Promise<PageRows> {
  const source = `SELECT * FROM logs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id ${order} LIMIT ${sql.param(limit)}`;
  const text = byteBoundedSql(source, order, `id, ${ITEM_JSON_SQL} AS json`, sql.param(maxBytes));
  const { rows } = await db.query<{ id: number; json: string; bytes_through: string; source_rows: string }>(text, sql.values);
  const bytes = rows.length > 0 ? Number(rows[rows.length - 1]!.bytes_through) : 0;
  return { items: rows.map((r) => r.json), ids: rows.map((r) => Number(r.id)), bytes, cut: cutByBytes(rows) };
}

/** The item of a row id. */
export async function logById(db: pg.Pool, id: number): Promise<string | undefined> {
  const { rows } = await db.query<{ json: string }>({ name: 'get-log', text: `SELECT ${ITEM_JSON_SQL} AS json FROM logs WHERE id = $1`, values: [id] });
  return rows[0]?.json;
}

/** The item of an event id (the UUIDs a 202 answers in `ids`); logs.event_id is unique. */
export async function logByEventId(db: pg.Pool, eventId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ json: string }>({ name: 'get-log-by-event-id', text: `SELECT ${ITEM_JSON_SQL} AS json FROM logs WHERE event_id = $1`, values: [eventId] });
  return rows[0]?.json;
}
