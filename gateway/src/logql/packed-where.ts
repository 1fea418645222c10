// The Loki reads over packed partitions (issue 15 point 6): what a LogQL query tells about the packed batches that
// can hold its rows (alias b of logs_packed, migrations 018-021), and the read of a log query's rows in timestamp
// order from both tables. Every batch condition here is a superset test (a batch holding a matching row meets it):
// the rows of the batches read are still tested one by one by the query's own conditions (to-sql.ts whereSql).
import { LEVELS } from '@logstream/shared/levels.js';
import type { Sql } from '@logstream/shared/sql.js';
import { likePattern } from '../filter-sql.js';
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
  // service_set holds the batch's distinct services. Not in a form its GIN index serves (unindexed): see
  // queryBatchWhere.
  if (m.op === '=') return unindexed(`b.service_set && ${sql.param([m.value])}::text[]`);
  if (m.op === '!=') return `NOT (b.service_set <@ ${sql.param([m.value])}::text[])`;
  const r = regexOp(m.value, m.op === '!~', true);
  return `EXISTS (SELECT FROM unnest(b.service_set) s WHERE s ${r.op} ${sql.param(r.pattern)})`;
}

/**
 * A condition the planner tests on each batch it reads but cannot look up in an index. The planner estimates one
 * row for a LIKE on a batch's joined messages (ANALYZE keeps no statistics of 20 KB values) and few for a service
 * set, so it read the batches through the trigram or service index and sorted them: every batch of the range
 * unnested before the first row came (bench loki, 895,834 packed rows, {service="billing"} |= "timeout" in every
 * batch: 3.9 s for 1,000 lines over 24 h). Read in order of time or id instead, a log query stops at its limit, and
 * a metric query reads its range only. A rare word is then found by reading the range, as in the rows (strpos,
 * which no index serves either).
 */
const unindexed = (condition: string) => `coalesce(${condition}, false)`;

/**
 * Batch conditions of a query's selector (service and level matchers) and of its case-sensitive substring filters:
 * a message containing x puts x in the batch's joined messages (logs_msgs_text), and the test of that one text
 * spares unnesting a batch without it. `!=`, regex filters and label filters have no batch test: a regex's ^ and $
 * mean other places in the joined text.
 */
export function queryBatchWhere(sql: Sql, q: LogQuery): string[] {
  const w: string[] = [];
  for (const m of q.matchers) {
    const c = matcherBatchSql(sql, m);
    if (c !== undefined) w.push(c);
  }
  for (const s of q.stages) {
    if (s.kind === 'line' && s.op === '|=' && s.value !== '') w.push(unindexed(`logs_msgs_text(b.messages) LIKE ${sql.param(likePattern(s.value))}`));
  }
  return w;
}

/** The columns of logs, in order (migration 001; logs_unpack returns them so). */
const LOGS_COLUMNS = 'id, stream_id, event_id, "timestamp", received_at, level, service, message, attributes';

const andOf = (w: readonly string[]) => (w.length ? w.join(' AND ') : 'true');

/**
 * The rows of packed batches (alias b) meeting `rowWhere`, as a FROM clause (alias f) and the logs columns of a
 * row (LOGS_ROW_OF). A LogQL condition names id, "timestamp", level, service, message and attributes only, so the
 * rows are tested on those arrays (attrs only when a condition names it) and the other columns of a row are read
 * by position for the rows that match: unnesting all nine arrays of each batch was most of a packed log query
 * (kept loki table, the 1,000 oldest {service="billing"} |= "timeout" lines, 2,000 batches read: 460 ms against
 * 140 ms testing service and message only, load average ~8).
 */
function packedMatches(rowWhere: readonly string[]): { from: string; row: string } {
  const attrs = rowWhere.some((w) => /\battributes\b/.test(w));
  const from = `logs_packed b CROSS JOIN LATERAL unnest(b.ids, b.timestamps, b.levels, b.services, b.messages${attrs ? ', b.attrs' : ''}) WITH ORDINALITY f(id, "timestamp", level, service, message, ${attrs ? 'attributes, ' : ''}o)`;
  const at = (column: string) => `b.${column}[f.o::int]`;
  const row = `f.id, ${at('stream_ids')} AS stream_id, ${at('event_ids')} AS event_id, f."timestamp", ${at('received_ats')} AS received_at, f.level, f.service, f.message, ${attrs ? 'f.attributes' : `${at('attrs')} AS attributes`}`;
  return { from, row };
}

/**
 * The rows of logs meeting `rowWhere` and those of the packed batches meeting `packedWhere` and `rowWhere`, in no
 * order, as one subquery (no alias) of logs rows: logsSourceSql's unordered form, with the packed rows tested and
 * read as packedMatches does (a metric query reads the columns it counts only).
 */
export function logsRowsSql(rowWhere: readonly string[], packedWhere: readonly string[]): string {
  const m = packedMatches(rowWhere);
  return `(SELECT * FROM logs WHERE ${andOf(rowWhere)})
  UNION ALL
  (SELECT ${m.row} FROM ${m.from} WHERE ${andOf([...packedWhere, ...rowWhere])})`;
}

/**
 * The first `limit` rows by ("timestamp", id) in `order` of the rows of logs meeting `rowWhere` and of the packed
 * batches meeting `packedWhere` and `rowWhere`, as one subquery (no alias) of whole logs rows: the caller orders and
 * limits them again. Batches are in id order and a row's timestamp is not its id's, so the packed part cannot stop
 * after `limit` rows read in batch order. Each set of `limit` matching rows bounds the answer: its oldest timestamp
 * T (newest, forward) is one that `limit` rows reach, so every row of the answer is at or after T, in a batch whose
 * ts_max is (ts_min, forward). So: r1, the first rows of logs; p1, `limit` rows from the batches in order of ts_max
 * (ts_min), only those reaching r1's T when r1 is whole (most answers are in the newest rows, which are rows); when
 * p1 found fewer, they are all the packed rows that can be in the answer; else p2 reads the batches reaching the
 * larger T of r1's and p1's that p1 did not read whole. Where timestamps follow ids, that is the batches of the
 * answer and one more, however long the range. Ties on "timestamp" are ordered by id, as the row form's are.
 */
export function logsByTimeSql(rowWhere: readonly string[], packedWhere: readonly string[], order: 'ASC' | 'DESC', limit: string): string {
  const [edge, agg, cmp, pick, back, open, past, lastEdge] =
    order === 'DESC' ? ['ts_max', 'min', '>=', 'greatest', 'ASC', '-infinity', '<=', 'min'] : ['ts_min', 'max', '<=', 'least', 'DESC', 'infinity', '>=', 'max'];
  const packed = [...packedWhere, ...rowWhere];
  const whole = (cte: string) => `(SELECT CASE WHEN count(*) >= ${limit} THEN ${agg}("timestamp") END FROM ${cte})`;
  const r1 = `SELECT * FROM logs WHERE ${andOf(rowWhere)} ORDER BY "timestamp" ${order}, id ${order} LIMIT ${limit}`;
  const m = packedMatches(rowWhere);
  // r1 not whole: no bound (an infinite timestamp, so that the bound is still an index condition).
  const p1 = `SELECT ${m.row}, b.id_from AS batch, b.${edge} AS edge FROM ${m.from}
    WHERE ${andOf([`b.${edge} ${cmp} coalesce(${whole('r1')}, '${open}')`, ...packed])} ORDER BY b.${edge} ${order}, b.id_from ${order} LIMIT ${limit}`;
  // p1 read every batch before the one it took its last row from, in its order, whole (those without a match too);
  // that one may hold rows it did not take.
  const last = `(SELECT edge, batch FROM p1 ORDER BY edge ${back}, batch ${back} LIMIT 1)`;
  const p2 = `SELECT ${m.row} FROM ${m.from}
    WHERE ${andOf([
      `${whole('p1')} IS NOT NULL`,
      `b.${edge} ${cmp} ${pick}(${whole('p1')}, ${whole('r1')})`,
      `b.${edge} ${past} (SELECT ${lastEdge}(edge) FROM p1)`,
      `(b.${edge}, b.id_from) ${past} ${last}`,
      ...packed,
      'f.id NOT IN (SELECT id FROM p1)',
    ])}`;
  return `WITH r1 AS MATERIALIZED (${r1}), p1 AS MATERIALIZED (${p1})
  SELECT * FROM r1 UNION ALL SELECT ${LOGS_COLUMNS} FROM p1 UNION ALL ${p2}`;
}
