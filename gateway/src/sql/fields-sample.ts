// The statement of GET /fields (fields-query.ts): the sample of a view's newest rows and its (field, value) counts.
import type pg from 'pg';
import type { Filter } from '@logstream/shared/protocol.js';
import { batchWhere, PACKED_ROWS_FROM } from './logs-source.js';
import { Sql } from '@logstream/shared/sql.js';
import { filterWhere } from '../filter-sql.js';

/** One count: k = v = null for the sample's size, v = null for a field whose value is JSON null. */
export interface FieldCountRow {
  k: string | null;
  v: string | null;
  n: number;
}

/**
 * In one statement: the newest `sampleRows` rows matching `filter` with a timestamp in [from, to], how many that
 * is, and the (field, value) counts in them, of the fields in `only` when it is not empty.
 */
export async function fieldCounts(c: pg.PoolClient, filter: Filter, from: Date, to: Date, only: readonly string[], sampleRows: number): Promise<FieldCountRow[]> {
  const sql = new Sql();
  const where = filterWhere(filter, sql.values);
  const [ge, le] = [sql.param(from), sql.param(to)];
  where.push(`"timestamp" >= ${ge}`, `"timestamp" <= ${le}`);
  const packed = batchWhere({ tsGe: ge, tsLe: le }, filter, sql);
  const fieldCond = only.length > 0 ? `WHERE e.k = ANY(${sql.param(only)}::text[])` : '';
  const n = Math.trunc(sampleRows);
  // Packed partitions' rows (logs-source.ts) only when the row partitions hold fewer than the sample in the window.
  const text = `WITH h AS MATERIALIZED (SELECT attributes, "timestamp" FROM logs WHERE ${where.join(' AND ')} ORDER BY "timestamp" DESC LIMIT ${n}),
p AS MATERIALIZED (SELECT r.attributes, r."timestamp" FROM ${PACKED_ROWS_FROM} WHERE (SELECT count(*) FROM h) < ${n} AND ${[...packed, ...where].join(' AND ')} ORDER BY r."timestamp" DESC LIMIT ${n}),
s AS MATERIALIZED (SELECT attributes FROM (SELECT * FROM h UNION ALL SELECT * FROM p) u ORDER BY "timestamp" DESC LIMIT ${n})
SELECT NULL AS k, NULL AS v, count(*)::int AS n FROM s
UNION ALL
SELECT e.k, e.v, count(*)::int FROM s, jsonb_each_text(s.attributes) AS e(k, v) ${fieldCond} GROUP BY e.k, e.v`;
  return (await c.query<FieldCountRow>(text, sql.values)).rows;
}
