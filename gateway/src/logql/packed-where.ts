// The Loki reads over packed partitions (issue 15 point 6): what a LogQL query tells about the packed batches that
// can hold its rows (alias b of logs_packed, migrations 018-021), and the read of a log query's rows in timestamp
// order from both tables. Every batch condition here is a superset test (a batch holding a matching row meets it):
// the rows of the batches read are still tested one by one by the query's own conditions (to-sql.ts whereSql).
import { LEVELS } from '@logstream/shared/levels.js';
import type { Sql } from '@logstream/shared/sql.js';
import { likePattern } from '../filter-sql.js';
import { PACKED_ROWS_FROM } from '../sql/logs-source.js';
import type { LogQuery, Matcher } from './ast.js';
import { levelsMatching, regexOp } from './to-sql.js';

/** A batch can hold a row whose service or level `m` matches (other labels are not summarised in a batch). */
function matcherBatchSql(sql: Sql, m: Matcher): string | undefined {
  if (m.name === 'level') {
    const levels = levelsMatching(m.op, m.value);
    if (levels.length === LEVELS.length) return undefined;
    if (levels.length === 0) return 'false';
    // level_mask has bit level/10 set for each level of the batch. Literals (validated levels): the lower bound on
    // the mask lets the copy's partial index (level_mask >= 32) serve a selector of error and fatal only.
    const mask = levels.reduce((a, v) => a | (1 << (v / 10)), 0);
    return `b.level_mask & ${mask} <> 0 AND b.level_mask >= ${1 << (Math.min(...levels) / 10)}`;
  }
  if (m.name !== 'service') return undefined;
  // service_set holds the batch's distinct services: its GIN index serves `=`.
  if (m.op === '=') return `b.service_set && ${sql.param([m.value])}::text[]`;
  if (m.op === '!=') return `NOT (b.service_set <@ ${sql.param([m.value])}::text[])`;
  const r = regexOp(m.value, m.op === '!~', true);
  return `EXISTS (SELECT FROM unnest(b.service_set) s WHERE s ${r.op} ${sql.param(r.pattern)})`;
}

/**
 * Batch conditions of a query's selector (service and level matchers) and of its case-sensitive substring filters:
 * a message containing x puts x in the batch's joined messages (logs_msgs_text), which the copy's trigram index
 * serves. `!=`, regex filters and label filters have no batch test: a regex's ^ and $ mean other places in the
 * joined text.
 */
export function queryBatchWhere(sql: Sql, q: LogQuery): string[] {
  const w: string[] = [];
  for (const m of q.matchers) {
    const c = matcherBatchSql(sql, m);
    if (c !== undefined) w.push(c);
  }
  for (const s of q.stages) {
    if (s.kind === 'line' && s.op === '|=' && s.value !== '') w.push(`logs_msgs_text(b.messages) LIKE ${sql.param(likePattern(s.value))}`);
  }
  return w;
}

const andOf = (w: readonly string[]) => (w.length ? w.join(' AND ') : 'true');

/**
 * The first `limit` rows by ("timestamp", id) in `order` of the rows of logs meeting `rowWhere` and of the packed
 * batches meeting `packedWhere` and `rowWhere`, as one subquery (no alias) of whole logs rows: the caller orders and
 * limits the union again. Batches are in id order and a row's timestamp is not its id's, so the packed part cannot
 * stop after `limit` rows read in batch order; it reads in two passes: the first takes `limit` matching rows from the
 * batches in order of their newest timestamp (ts_max, oldest for forward: ts_min), so their oldest timestamp T is
 * a bound that `limit` rows reach (the answer's rows are all at or after T); the second reads only the batches
 * reaching T (ts_max ≥ T) and keeps their `limit` first rows. Where timestamps follow ids, that is the batches of
 * the answer and a few more, however long the range; fewer matches than `limit` reads the matching batches twice.
 * Ties on "timestamp" are ordered by id, as the row form's ORDER BY "timestamp", id is.
 */
export function logsByTimeSql(rowWhere: readonly string[], packedWhere: readonly string[], order: 'ASC' | 'DESC', limit: string): string {
  const [edge, agg, cmp] = order === 'DESC' ? ['ts_max', 'min', '>='] : ['ts_min', 'max', '<='];
  const packed = [...packedWhere, ...rowWhere];
  const first = `SELECT r."timestamp" FROM ${PACKED_ROWS_FROM} WHERE ${andOf(packed)} ORDER BY b.${edge} ${order} LIMIT ${limit}`;
  const reach = `b.${edge} ${cmp} (SELECT ${agg}(f."timestamp") FROM (${first}) f)`;
  return `(SELECT * FROM logs WHERE ${andOf(rowWhere)} ORDER BY "timestamp" ${order}, id ${order} LIMIT ${limit})
  UNION ALL
  (SELECT r.* FROM ${PACKED_ROWS_FROM} WHERE ${andOf([reach, ...packed])} ORDER BY r."timestamp" ${order}, r.id ${order} LIMIT ${limit})`;
}
