// The statements of GET /logs and GET /logs/<id> (logs-query.ts builds the conditions and runs the search loop).
import type pg from 'pg';
import type { Sql } from '@logstream/shared/sql.js';
import { byteBoundedSql, cutByBytes } from '../page-bytes.js';
import { ITEM_JSON_SQL } from '../row-json.js';
import { logsSourceSql } from './logs-source.js';

/** Rows as API items, serialized by PostgreSQL, in the order asked. */
export interface PageRows {
  items: string[];
  ids: number[];
  /** The page stopped at its byte budget before `limit` rows: continue after its last. */
  cut?: boolean;
  /** JSON bytes of the items. */
  bytes: number;
}

/**
 * Up to `limit` rows matching `where` (parameters in `sql`) by id in `order`, while their JSON fits `maxBytes`; with
 * `packed` (batchWhere(), logs-source.ts), packed partitions' rows too.
 */
export async function logsPage(db: pg.Pool, where: readonly string[], sql: Sql, order: 'ASC' | 'DESC', limit: number, maxBytes: number, packed?: readonly string[]): Promise<PageRows> {
  const n = sql.param(limit);
  const source = packed
    ? `SELECT * FROM (${logsSourceSql(where, packed, { order, limit: n })}) u ORDER BY id ${order} LIMIT ${n}`
    : `SELECT * FROM logs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id ${order} LIMIT ${n}`;
  const text = byteBoundedSql(source, order, `id, ${ITEM_JSON_SQL} AS json`, sql.param(maxBytes));
  const { rows } = await db.query<{ id: number; json: string; bytes_through: string; source_rows: string }>(text, sql.values);
  const bytes = rows.length > 0 ? Number(rows[rows.length - 1]!.bytes_through) : 0;
  return { items: rows.map((r) => r.json), ids: rows.map((r) => Number(r.id)), bytes, cut: cutByBytes(rows) };
}

/** The item of a row id, stored as a row or packed (the batch whose id range holds it). */
export async function logById(db: pg.Pool, id: number): Promise<string | undefined> {
  const source = logsSourceSql(['id = $1'], ['b.id_from <= $1', 'b.id_to >= $1']);
  const { rows } = await db.query<{ json: string }>({ name: 'get-log', text: `SELECT ${ITEM_JSON_SQL} AS json FROM (${source}) logs LIMIT 1`, values: [id] });
  return rows[0]?.json;
}

/**
 * The item of an event id (the UUIDs a 202 answers in `ids`); logs.event_id is unique. Packed batches are found by
 * the 16-bit prefix of their event ids (the copy's GIN index on logs_eid_keys, migration 018).
 */
export async function logByEventId(db: pg.Pool, eventId: string): Promise<string | undefined> {
  const source = logsSourceSql(['event_id = $1'], ['logs_eid_keys(b.event_ids) @> ARRAY[logs_eid_key($1::uuid)]']);
  const { rows } = await db.query<{ json: string }>({ name: 'get-log-by-event-id', text: `SELECT ${ITEM_JSON_SQL} AS json FROM (${source}) logs LIMIT 1`, values: [eventId] });
  return rows[0]?.json;
}
