// A filter (CONTRACT §5: service, level, q, attr.*) as SQL conditions: one definition for GET /logs, /stats,
// /fields and the live path's replays and dropped counts (live/queries.ts), which must all select the same rows.
import type { Filter } from '@logstream/shared/protocol.js';

/** Escape LIKE wildcards so that `q` is a plain substring. */
export function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** WHERE clause and parameters for a filter; `values` is appended to. */
export function filterWhere(filter: Filter, values: unknown[]): string[] {
  const where: string[] = [];
  if (filter.services.length === 1) {
    values.push(filter.services[0]);
    where.push(`service = $${values.length}`);
  } else if (filter.services.length > 1) {
    values.push(filter.services);
    where.push(`service = ANY($${values.length}::text[])`);
  }
  if (filter.minLevel > 0) {
    // A literal (a validated integer), not a parameter: logs_level_id_idx holds warn and above only (migration
    // 015), and the planner can use a partial index only when it can prove the predicate, also in a generic plan.
    where.push(`level >= ${Math.trunc(Number(filter.minLevel))}`);
  }
  if (filter.q !== '') {
    // ILIKE is lower(message) LIKE lower(pattern) in a UTF-8 database: the same folding as textMatchSql, and the
    // form the optional trigram index serves.
    values.push(likePattern(filter.q));
    where.push(`message ILIKE $${values.length}`);
  }
  for (const a of filter.attrs ?? []) {
    values.push(a.name);
    const v = `attributes->>$${values.length}`;
    if ('values' in a) {
      values.push(a.values.length === 1 ? a.values[0] : a.values);
      where.push(a.values.length === 1 ? `${v} = $${values.length}` : `${v} = ANY($${values.length}::text[])`);
      continue;
    }
    // logql_num (migration 016): NULL, so no match, for a value that is not a number (as matchesAttrs).
    if (a.min !== undefined) {
      values.push(a.min);
      where.push(`logql_num(${v}) >= $${values.length}::float8`);
    }
    if (a.max !== undefined) {
      values.push(a.max);
      where.push(`logql_num(${v}) <= $${values.length}::float8`);
    }
  }
  return where;
}
