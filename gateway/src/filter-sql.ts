// A filter (CONTRACT §5: service, level, q, attr.*) as SQL conditions: one definition for GET /logs, /stats,
// /fields and the live path's replays and dropped counts (live/queries.ts), which must all select the same rows.
import type { Filter } from '@logstream/shared/protocol.js';
import { Sql } from '@logstream/shared/sql.js';

/** Escape LIKE wildcards so that `q` is a plain substring. */
export function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** WHERE clause and parameters for a filter; `values` is appended to. */
export function filterWhere(filter: Filter, values: unknown[]): string[] {
  const sql = new Sql(values);
  const where: string[] = [];
  if (filter.services.length === 1) {
    where.push(`service = ${sql.param(filter.services[0])}`);
  } else if (filter.services.length > 1) {
    where.push(`service = ANY(${sql.param(filter.services)}::text[])`);
  }
  if (filter.minLevel > 0) {
    // A literal (a validated integer), not a parameter: logs_level_id_idx holds warn and above only (migration
    // 015), and the planner can use a partial index only when it can prove the predicate, also in a generic plan.
    where.push(`level >= ${Math.trunc(Number(filter.minLevel))}`);
  }
  if (filter.q !== '') {
    // ILIKE is lower(message) LIKE lower(pattern) in a UTF-8 database: the same folding as textMatchSql, and the
    // form the optional trigram index serves.
    where.push(`message ILIKE ${sql.param(likePattern(filter.q))}`);
  }
  for (const a of filter.attrs ?? []) {
    const v = `attributes->>${sql.param(a.name)}`;
    if ('values' in a) {
      where.push(a.values.length === 1 ? `${v} = ${sql.param(a.values[0])}` : `${v} = ANY(${sql.param(a.values)}::text[])`);
      continue;
    }
    // logql_num (migration 016): NULL, so no match, for a value that is not a number (as matchesAttrs).
    if (a.min !== undefined) {
      where.push(`logql_num(${v}) >= ${sql.param(a.min)}::float8`);
    }
    if (a.max !== undefined) {
      where.push(`logql_num(${v}) <= ${sql.param(a.max)}::float8`);
    }
  }
  return where;
}
