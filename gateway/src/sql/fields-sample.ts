// The statement of GET /fields (fields-query.ts): the sample of a view's newest rows and its (field, value) counts.
import type pg from 'pg';
import type { Filter } from '@logstream/shared/protocol.js';
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
  where.push(`"timestamp" >= ${sql.param(from)}`, `"timestamp" <= ${sql.param(to)}`);
  const fieldCond = only.length > 0 ? `WHERE e.k = ANY(${sql.param(only)}::text[])` : '';
  const text = `WITH s AS MATERIALIZED (SELECT attributes FROM logs WHERE ${where.join(' AND ')} ORDER BY "timestamp" DESC LIMIT ${sampleRows})
SELECT NULL AS k, NULL AS v, count(*)::int AS n FROM s
UNION ALL
SELECT e.k, e.v, count(*)::int FROM s, jsonb_each_text(s.attributes) AS e(k, v) ${fieldCond} GROUP BY e.k, e.v`;
  return (await c.query<FieldCountRow>(text, sql.values)).rows;
}
