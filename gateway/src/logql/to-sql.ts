// LogQL AST → SQL on the logs table (and its rollups, migration 002). Pure functions: each returns SQL text and its
// parameters, so that the translation is unit-tested as text and run against PostgreSQL separately. Every read of
// rows takes them from logs and from the packed batches of packed partitions in one statement (issue 15 point 6:
// sql/logs-source.ts, packed-where.ts), so that a partition swapped while a query runs is read whole once.
//
// The labels of a row are `service`, `level` (its name), every attribute, and, after `| json` or `| logfmt`, the
// fields of its message (logql_json / logql_logfmt, migration 016); an attribute wins over a message field of the
// same name, as a stream label wins over an extracted one in Loki. A missing label reads as "", as in Loki.
import { LEVELS } from '@logstream/shared/levels.js';
import { LEVEL_NAME_SQL, Sql } from '@logstream/shared/sql.js';
import { batchWhere, logsSourceSql, type RowBounds } from '../sql/logs-source.js';
import type { LabelExpr, LogQuery, Matcher, Stage } from './ast.js';
import { logsByTimeSql, logsRowsSql, queryBatchWhere } from './packed-where.js';
import { LogQLError, unsupported } from './parse.js';

export type Parser = 'json' | 'logfmt';


/** A row's Loki timestamp in ns, as text: its µs (what PostgreSQL stores) and id % 1000 below them, so that no two
 * rows of a µs share a timestamp and a client resuming from `start` = last + 1 misses and repeats nothing. */
export const ROW_NS_SQL = `(((extract(epoch FROM "timestamp") * 1000000)::bigint * 1000) + id % 1000)::text`;

/** A timestamptz from a µs count given as a parameter (exact: no float seconds on the way). */
const tsAt = (placeholder: string) => `(timestamptz 'epoch' + ${placeholder}::bigint * interval '1 microsecond')`;

const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Labels that are columns; every other name is an attribute or a parsed field. */
export const STREAM_LABELS = ['service', 'level'] as const;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;


/** The parsers in effect at each stage: a label filter sees the fields of the parsers before it. */
function parsersBefore(stages: Stage[], index: number): Parser[] {
  const out: Parser[] = [];
  for (let i = 0; i < index; i++) {
    const s = stages[i]!;
    if (s.kind === 'parser' && !out.includes(s.parser)) out.push(s.parser);
  }
  return out;
}

export const parsersOf = (q: LogQuery): Parser[] => parsersBefore(q.stages, q.stages.length);

/** Column aliases of the parsed message, computed once per row by a LATERAL join (see fromSql). */
export const PARSED_COLUMN: Record<Parser, string> = { json: 'pj.fields', logfmt: 'pl.fields' };
/**
 * The parsed message as an expression of the row, for conditions: they are tested inside the read of rows and
 * batches (logsSourceSql), before the LATERAL join. The same work: PostgreSQL pulls that join's one-expression
 * subquery up into each reference anyway.
 */
const PARSED_INLINE: Record<Parser, string> = { json: 'logql_json(message)', logfmt: 'logql_logfmt(message)' };

/** SQL text of a label's value (NULL when missing); `parsed`: how the parsed fields are named. */
export function labelSql(name: string, parsers: Parser[], parsed: Record<Parser, string> = PARSED_COLUMN): string {
  if (name === 'service') return 'service';
  if (name === 'level') return LEVEL_NAME_SQL;
  if (!LABEL_NAME.test(name)) throw new LogQLError(`invalid label name ${JSON.stringify(name)}`, 'syntax');
  const lit = quoteLiteral(name);
  const parts = [`attributes->>${lit}`, ...parsers.map((p) => `${parsed[p]}->>${lit}`)];
  return parts.length === 1 ? parts[0]! : `coalesce(${parts.join(', ')})`;
}

/** Loki anchors label regexes (`=~ "api|web"` is `^(?:api|web)$`); `(?i)` in front becomes PostgreSQL's ~*. */
export function regexOp(re: string, negate: boolean, anchored: boolean): { op: string; pattern: string } {
  let pattern = re;
  let insensitive = false;
  if (pattern.startsWith('(?i)')) {
    insensitive = true;
    pattern = pattern.slice(4);
  }
  if (anchored) pattern = `^(?:${pattern})$`;
  return { op: `${negate ? '!' : ''}~${insensitive ? '*' : ''}`, pattern };
}

/** The level names a string matcher accepts, decided here so that the condition is on the indexed number. */
export function levelsMatching(op: Matcher['op'], value: string): number[] {
  let test: (name: string) => boolean;
  if (op === '=' || op === '!=') test = (n) => n === value;
  else {
    const { pattern } = regexOp(value, false, true);
    let re: RegExp;
    try {
      re = new RegExp(pattern, value.startsWith('(?i)') ? 'i' : '');
    } catch (err) {
      throw new LogQLError(`invalid regular expression ${JSON.stringify(value)}: ${(err as Error).message}`, 'syntax');
    }
    test = (n) => re.test(n);
  }
  const negate = op === '!=' || op === '!~';
  return LEVELS.map((n, i) => ({ n, v: (i + 1) * 10 })).filter(({ n }) => test(n) !== negate).map(({ v }) => v);
}

/** One string comparison of a label (a selector matcher, or a string label filter). */
function matchSql(sql: Sql, name: string, op: Matcher['op'], value: string, parsers: Parser[]): string {
  if (name === 'level') {
    const levels = levelsMatching(op, value);
    if (levels.length === LEVELS.length) return 'true';
    if (levels.length === 0) return 'false';
    return levels.length === 1 ? `level = ${levels[0]}` : `level = ANY(${sql.param(levels)}::smallint[])`;
  }
  const raw = labelSql(name, parsers, PARSED_INLINE);
  // A missing label is "": `host=""` matches rows without host, `host!="web-1"` too (Loki's rule).
  const emptyMatches = op === '=' ? value === '' : op === '!=' ? value !== '' : undefined;
  const expr = name === 'service' || emptyMatches === false ? raw : `coalesce(${raw}, '')`;
  if (op === '=') return `${expr} = ${sql.param(value)}`;
  if (op === '!=') return `${expr} <> ${sql.param(value)}`;
  const r = regexOp(value, op === '!~', true);
  return `${name === 'service' ? raw : `coalesce(${raw}, '')`} ${r.op} ${sql.param(r.pattern)}`;
}

function labelExprSql(sql: Sql, e: LabelExpr, parsers: Parser[]): string {
  if (e.kind !== 'compare') return `(${labelExprSql(sql, e.left, parsers)} ${e.kind.toUpperCase()} ${labelExprSql(sql, e.right, parsers)})`;
  if (typeof e.value === 'string') return matchSql(sql, e.name, e.op as Matcher['op'], e.value, parsers);
  // Numeric: a label that is missing or not a number does not match (Loki would flag it with __error__).
  const op = e.op === '==' ? '=' : e.op === '!=' ? '<>' : e.op;
  if (op === '=~' || op === '!~') throw new LogQLError(`${e.op} needs a string`, 'syntax');
  const value = e.name === 'level' ? `NULL::text` : labelSql(e.name, parsers, PARSED_INLINE);
  return `logql_num(${value}) ${op} ${sql.param(e.value)}::float8`;
}

function lineFilterSql(sql: Sql, op: string, value: string): string {
  if (op === '|=' || op === '!=') {
    // Loki's |= is a case-sensitive substring; "" matches every line.
    if (value === '') return op === '|=' ? 'true' : 'false';
    return `strpos(message, ${sql.param(value)}) ${op === '|=' ? '>' : '='} 0`;
  }
  const r = regexOp(value, op === '!~', false);
  return `message ${r.op} ${sql.param(r.pattern)}`;
}

/** Every condition of a log query (selector, line filters, label filters), ANDed, on row columns named bare. */
export function whereSql(sql: Sql, q: LogQuery): string[] {
  const where = q.matchers.map((m) => matchSql(sql, m.name, m.op, m.value, []));
  q.stages.forEach((s, i) => {
    if (s.kind === 'line') where.push(lineFilterSql(sql, s.op, s.value));
    else if (s.kind === 'label') where.push(labelExprSql(sql, s.expr, parsersBefore(q.stages, i)));
  });
  return where.filter((w) => w !== 'true');
}

/**
 * The rows of logs and of packed batches within `bounds` (also as row conditions in `rowWhere`) that meet the
 * query's conditions, as a FROM item aliased logs; `order`: the first `limit` by ("timestamp", id) only.
 */
export function sourceSql(sql: Sql, q: LogQuery | undefined, rowWhere: string[], bounds: RowBounds, order?: { order: 'ASC' | 'DESC'; limit: string; by: 'id' | 'timestamp' }): string {
  const rows = [...rowWhere, ...(q ? whereSql(sql, q) : [])];
  const packed = [...batchWhere(bounds, undefined, sql), ...(q ? queryBatchWhere(sql, q) : [])];
  if (order?.by === 'timestamp') return `(${logsByTimeSql(rows, packed, order.order, order.limit)}) logs`;
  if (!order) return `(${logsRowsSql(rows, packed)}) logs`;
  return `(${logsSourceSql(rows, packed, order)}) logs`;
}

/** FROM clause: `source` (sourceSql), plus the parsed message once per row when a parser is used. */
export function fromSql(q: LogQuery, source: string): string {
  const parsers = parsersOf(q);
  let from = source;
  if (parsers.includes('json')) from += ' CROSS JOIN LATERAL (SELECT logql_json(logs.message) AS fields) pj';
  if (parsers.includes('logfmt')) from += ' CROSS JOIN LATERAL (SELECT logql_logfmt(logs.message) AS fields) pl';
  return from;
}

/** Labels removed by `| drop`. */
export function droppedLabels(q: LogQuery): Set<string> {
  return new Set(q.stages.flatMap((s) => (s.kind === 'drop' ? s.names : [])));
}

/** Conditions for a row's ns timestamp (ROW_NS_SQL) at or after `ns`, exactly (sub-µs digits are id % 1000). */
export function atOrAfterSql(sql: Sql, ns: bigint, bounds: RowBounds = {}): string {
  const us = ns / 1000n;
  const rem = Number(ns % 1000n);
  const ts = tsAt(sql.param(String(us)));
  bounds.tsGe = ts;
  return rem === 0 ? `"timestamp" >= ${ts}` : `"timestamp" >= ${ts} AND ("timestamp" > ${ts} OR id % 1000 >= ${rem})`;
}

/**
 * A tail resumed from `start` = the last entry's ns + 1 (what Loki clients send) continues after that entry. The
 * sub-µs digits are id % 1000, which wraps: in a batch of rows sharing one µs, the rows before the wrap have larger
 * ns than the last one sent, and a plain ns comparison sent them twice (26 of 50 in a CI run). So the last entry is
 * looked up by its ns (its µs and id % 1000) and the tail continues after it in (timestamp, id) order. Over 1,000
 * rows in one µs share ns values, and Loki's `start` cannot tell them apart: the earliest is taken, so a resume may
 * repeat rows then but never skips one.
 */
export function lastEntrySql(start: bigint): { text: string; values: unknown[] } {
  const last = start - 1n;
  const sql = new Sql();
  const ts = tsAt(sql.param(String(last / 1000n)));
  const source = sourceSql(sql, undefined, [`"timestamp" = ${ts}`, `id % 1000 = ${sql.param(Number(last % 1000n))}`], { tsGe: ts, tsLe: ts });
  return { text: `SELECT min(id)::text AS id FROM ${source}`, values: sql.values };
}

/** Rows after the entry `lastId` whose ns is start - 1, in (timestamp, id) order. */
function afterEntrySql(sql: Sql, start: bigint, lastId: string, bounds: RowBounds): string {
  const ts = tsAt(sql.param(String((start - 1n) / 1000n)));
  bounds.tsGe = ts;
  // The plain bound lets the planner use the timestamp index; the row comparison is the exact one.
  return `"timestamp" >= ${ts} AND ("timestamp", id) > (${ts}, ${sql.param(lastId)}::bigint)`;
}

/** Conditions for a row's ns timestamp strictly before `ns`. */
export function beforeSql(sql: Sql, ns: bigint, bounds: RowBounds = {}): string {
  const us = ns / 1000n;
  const rem = Number(ns % 1000n);
  const ts = tsAt(sql.param(String(us)));
  if (rem === 0) bounds.tsLt = ts;
  else bounds.tsLe = ts;
  return rem === 0 ? `"timestamp" < ${ts}` : `"timestamp" <= ${ts} AND ("timestamp" < ${ts} OR id % 1000 < ${rem})`;
}

/** Row conditions of the ns window [start, end), and its bounds on "timestamp" (for the packed batches). */
export function windowSql(sql: Sql, start: bigint, end: bigint): { where: string[]; bounds: RowBounds } {
  const bounds: RowBounds = {};
  return { where: [atOrAfterSql(sql, start, bounds), beforeSql(sql, end, bounds)], bounds };
}

/** Columns of a log query's rows: enough to build the Loki labels (lokiLabels) and the entry. */
export function rowColumnsSql(q: LogQuery): string {
  const parsers = parsersOf(q);
  return [
    'id',
    `${ROW_NS_SQL} AS ns`,
    'service',
    'level',
    'message',
    'attributes',
    ...parsers.map((p) => `${PARSED_COLUMN[p]} AS ${p}_fields`),
  ].join(', ');
}

export interface LogSelect {
  start: bigint;
  end: bigint;
  limit: number;
  direction: 'forward' | 'backward';
}

/**
 * Most bytes of rows one log query returns, 16 MiB (issue 11 point 2): 5,000 entries (MAX_ENTRIES) of maximal
 * events would be 1.25 GiB in the gateway; ordinary lines of up to ~3 KB still fill a 5,000-entry answer.
 */
export const LOG_QUERY_MAX_BYTES = 16 * 1024 * 1024;

/**
 * A log query between [start, end), `limit` entries in timestamp order, cut after the row whose message and
 * attributes (their stored sizes: octet_length and pg_column_size read no value) take the total past `maxBytes`.
 * The window sum runs over the `limit` rows only (the LIMIT is inside). `source_rows` says how many there were.
 */
export function logSelectSql(q: LogQuery, s: LogSelect, maxBytes = LOG_QUERY_MAX_BYTES): { text: string; values: unknown[] } {
  const sql = new Sql();
  const w = windowSql(sql, s.start, s.end);
  const order = s.direction === 'forward' ? 'ASC' : 'DESC';
  const limit = sql.param(s.limit);
  const source = sourceSql(sql, q, w.where, w.bounds, { order, limit, by: 'timestamp' });
  const inner = `SELECT ${rowColumnsSql(q)}, "timestamp" AS ts_order, ${ROW_BYTES_SQL} AS row_bytes FROM ${fromSql(q, source)} ORDER BY "timestamp" ${order}, id ${order} LIMIT ${limit}`;
  return { text: byteCutSql(inner, `ts_order ${order}, id ${order}`, sql.param(maxBytes)), values: sql.values };
}

/** A row's stored message and attributes size, known without reading the values (TOAST headers only). */
const ROW_BYTES_SQL = 'octet_length(message) + pg_column_size(attributes)';

/**
 * The rows of `inner` (limited, with a `row_bytes` column) in `orderBy` order, up to the one that takes their
 * total past `budget`; each carries `source_rows`, the rows `inner` had (more than came back: cut by bytes).
 */
function byteCutSql(inner: string, orderBy: string, budget: string): string {
  return `SELECT * FROM (
  SELECT i.*, sum(i.row_bytes) OVER (ORDER BY ${orderBy} ROWS UNBOUNDED PRECEDING) - i.row_bytes AS bytes_before,
         count(*) OVER () AS source_rows
  FROM (${inner}) i
) b WHERE b.bytes_before < ${budget} ORDER BY ${orderBy}`;
}

/** Can the query be counted from the rollups? Only selectors on service and level, nothing after them that filters. */
export function rollupEligible(q: LogQuery, groupBy: string[] | undefined): boolean {
  if (!q.matchers.every((m) => m.name === 'service' || m.name === 'level')) return false;
  if (!q.stages.every((s) => s.kind === 'drop' || s.kind === 'parser')) return false;
  return groupBy !== undefined && groupBy.every((l) => l === 'service' || l === 'level');
}

export interface BinPlan {
  /** Lower bound (exclusive) of bin 0, ms since the epoch. */
  lowMs: number;
  binMs: number;
  bins: number;
  /** Labels to group by in SQL, or undefined for every label (the full label set). */
  groupBy?: string[];
}

const msToUs = (ms: number) => String(BigInt(ms) * 1000n);

/**
 * Counts and bytes per bin and label set: bin j holds rows in (low + j·bin, low + (j+1)·bin], the half-open side of
 * Loki's range windows (t − range, t].
 */
export function binnedSql(q: LogQuery, plan: BinPlan): { text: string; values: unknown[] } {
  const sql = new Sql();
  const high = plan.lowMs + plan.bins * plan.binMs;
  const bounds: RowBounds = { tsGt: tsAt(sql.param(msToUs(plan.lowMs))), tsLe: tsAt(sql.param(msToUs(high))) };
  const source = sourceSql(sql, q, [`"timestamp" > ${bounds.tsGt}`, `"timestamp" <= ${bounds.tsLe}`], bounds);
  const low = sql.param(plan.lowMs);
  const bin = sql.param(plan.binMs);
  const j = `(ceil((extract(epoch FROM "timestamp") * 1000 - ${low}::numeric) / ${bin}::numeric) - 1)::int`;
  const groups = groupColumns(q, plan.groupBy);
  const cols = [`${j} AS j`, ...groups.map((g) => `${g.sql} AS ${g.alias}`), 'count(*)::float8 AS n', 'sum(octet_length(message))::float8 AS bytes'];
  return {
    text: `SELECT ${cols.join(', ')} FROM ${fromSql(q, source)} GROUP BY ${['1', ...groups.map((_, i) => String(i + 2))].join(', ')}`,
    values: sql.values,
  };
}

/** Group columns: the named labels (aliases g0, g1 …), or every label (service, level, attributes, parsed fields). */
export function groupColumns(q: LogQuery, groupBy: string[] | undefined): { sql: string; alias: string }[] {
  const parsers = parsersOf(q);
  if (groupBy) return groupBy.map((l, i) => ({ sql: labelSql(l, parsers), alias: `g${i}` }));
  if (parsers.includes('logfmt')) {
    throw unsupported('a metric over | logfmt without sum by (…)', 'name the labels to count by, as in sum by (status) (count_over_time({…} | logfmt [5m]))');
  }
  return [
    { sql: 'service', alias: 'service' },
    { sql: 'level', alias: 'level' },
    { sql: 'attributes', alias: 'attributes' },
    ...(parsers.includes('json') ? [{ sql: PARSED_COLUMN.json, alias: 'json_fields' }] : []),
  ];
}

/**
 * The same counts from a rollup table (minute or hour): rows of minute m are in [m, m + 1 minute), so the table
 * gives the bins of [low + j·bin, low + (j+1)·bin); `edge` is the part of `n` exactly on the bin's lower edge
 * (n_at_start of the rollup rows that start a bin, migration 017), which Loki puts in the bin below (j − 1). The
 * rollup row at `high` is read too, for its edge rows only (they belong to the last bin).
 */
export function rollupSql(q: LogQuery, plan: BinPlan, table: 'logs_per_minute' | 'logs_per_hour'): { text: string; values: unknown[] } {
  const sql = new Sql();
  const col = table === 'logs_per_minute' ? 'minute' : 'hour';
  const high = plan.lowMs + plan.bins * plan.binMs;
  const where = [`${col} >= ${sql.param(new Date(plan.lowMs).toISOString())}::timestamptz`, `${col} <= ${sql.param(new Date(high).toISOString())}::timestamptz`, ...whereSql(sql, q)];
  const low = sql.param(plan.lowMs);
  const bin = sql.param(plan.binMs);
  const groups = groupColumns(q, plan.groupBy);
  // float8 throughout, not numeric: minutes and hours are whole ms, exact in a double, and numeric arithmetic on
  // every rollup row was most of the statement (extract() is numeric, date_part() float8; sum(bigint) is numeric).
  const offset = `(date_part('epoch', ${col}) * 1000 - ${low}::float8)`;
  const j = `floor(${offset} / ${bin}::float8)::int AS j`;
  const labels = groups.map((g) => `${g.sql} AS ${g.alias}`);
  if (oneRowPerBin(q, plan, table)) {
    // Each rollup row is a bin of one series already, and starts it: no GROUP BY (24 h of 1-minute bins for one
    // service, 4,323 rows, lk bench table: 28 → 8 ms median here, the HashAggregate was two thirds of it).
    return { text: `SELECT ${[j, ...labels, 'n::float8 AS n', 'n_at_start::float8 AS edge'].join(', ')} FROM ${table} WHERE ${where.join(' AND ')}`, values: sql.values };
  }
  const cols = [j, ...labels, 'sum(n::float8) AS n', `coalesce(sum(n_at_start::float8) FILTER (WHERE ${offset}::bigint % ${bin}::bigint = 0), 0) AS edge`];
  return { text: `SELECT ${cols.join(', ')} FROM ${table} WHERE ${where.join(' AND ')} GROUP BY ${['1', ...groups.map((_, i) => String(i + 2))].join(', ')}`, values: sql.values };
}

/**
 * A rollup row is one (bin, series) by itself when bins are the rollup's own minutes or hours and each of its key
 * labels (level, service) is grouped by or fixed by an `=` matcher (Explore's log volume: by level, one service).
 */
function oneRowPerBin(q: LogQuery, plan: BinPlan, table: 'logs_per_minute' | 'logs_per_hour'): boolean {
  if (plan.binMs !== (table === 'logs_per_minute' ? 60_000 : 3_600_000) || !plan.groupBy) return false;
  return STREAM_LABELS.every((l) => plan.groupBy!.includes(l) || q.matchers.some((m) => m.name === l && m.op === '='));
}

/**
 * Most bytes of rows one tail read returns, 4 MiB plus the row that crosses it (issue 11 point 2): a read of
 * `limit` (1,000) maximal events would be 256 MiB per tail.
 */
export const TAIL_READ_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Rows of a tail in commit order: ids in (after, upTo], and at or after `start` while replaying; cut by bytes as
 * logSelectSql is (`source_rows` > rows returned: read on from the last row).
 */
/** Where a replay starts: at ns `start`, or right after the entry `lastId` whose ns is start - 1 (lastEntrySql). */
export interface TailStart {
  ns: bigint;
  lastId?: string;
}

/** The replay's conditions on a row's timestamp (and id, after a named entry). */
const replayStartSql = (sql: Sql, start: TailStart, bounds: RowBounds) => (start.lastId !== undefined ? afterEntrySql(sql, start.ns, start.lastId, bounds) : atOrAfterSql(sql, start.ns, bounds));

const ID_STEP = 1_048_576n; // ids per commit second (migration 006)

/**
 * Where a replay from `start` begins: the id before the first row it can send, as `after`. Ids encode their commit
 * second (migration 006), so every row from id X = the first id of start's second on is read as before; a row below
 * X was committed before `start` and is sent only if its timestamp is at or after it (a client clock ahead, a
 * backfill): the first such row is looked up by its timestamp (OFFSET 0 keeps min(id) from becoming a scan of the
 * primary key that would stop only at a match, i.e. read every row before X when there is none). So the lookup reads
 * the rows on the smaller side of `start` (bench, 5 M rows over 24 h, {level="info"}: 10 ms from now, 280 ms from
 * 1 h back, 550 ms from 12 h, 440 ms from 23 h), where min(id) over every row stamped from `start` on took 2.9 s from
 * 12 h back and 28 s from 23 h (past the 10 s statement timeout: the tail closed). From id 0, a tail walked 250
 * replay slices of 20,000 ids before its first live row (bench loki: 10 tails received 0 of 1,000 rows in 10 s).
 */
export function replayFloorSql(q: LogQuery, start: TailStart, upTo: number): { text: string; values: unknown[] } {
  const sql = new Sql();
  // The second of the earliest row the replay can send (start - 1 ns after a named entry: afterEntrySql).
  const x = ((start.lastId !== undefined ? start.ns - 1n : start.ns) / 1_000_000_000n) * ID_STEP;
  const xp = sql.param(String(x));
  const bounds: RowBounds = { idLt: `${xp}::bigint`, idLe: sql.param(upTo) };
  const where = [`id < ${bounds.idLt}`, `id <= ${bounds.idLe}`, replayStartSql(sql, start, bounds)];
  return { text: `SELECT least((SELECT min(id) FROM (SELECT id FROM ${sourceSql(sql, q, where, bounds)} OFFSET 0) s), ${xp}::bigint) - 1 AS after`, values: sql.values };
}

export function tailSelectSql(q: LogQuery, after: number, upTo: number, start: TailStart | undefined, limit: number, maxBytes = TAIL_READ_MAX_BYTES): { text: string; values: unknown[] } {
  const sql = new Sql();
  const bounds: RowBounds = { idGt: sql.param(after), idLe: sql.param(upTo) };
  const where = [`id > ${bounds.idGt}`, `id <= ${bounds.idLe}`, ...(start === undefined ? [] : [replayStartSql(sql, start, bounds)])];
  const lim = sql.param(limit);
  const source = sourceSql(sql, q, where, bounds, { order: 'ASC', limit: lim, by: 'id' });
  const inner = `SELECT ${rowColumnsSql(q)}, ${ROW_BYTES_SQL} AS row_bytes FROM ${fromSql(q, source)} ORDER BY id LIMIT ${lim}`;
  return { text: byteCutSql(inner, 'id', sql.param(maxBytes)), values: sql.values };
}

/** Labels and timestamps of the matching rows in [from, to]: what a tail skipped (Loki's dropped_entries). */
export function droppedSql(q: LogQuery, from: number, to: number, limit: number): { text: string; values: unknown[] } {
  const sql = new Sql();
  const parsers = parsersOf(q);
  const cols = ['id', `${ROW_NS_SQL} AS ns`, 'service', 'level', 'attributes', ...parsers.map((p) => `${PARSED_COLUMN[p]} AS ${p}_fields`)];
  const bounds: RowBounds = { idGe: sql.param(from), idLe: sql.param(to) };
  const lim = sql.param(limit);
  const source = sourceSql(sql, q, [`id >= ${bounds.idGe}`, `id <= ${bounds.idLe}`], bounds, { order: 'ASC', limit: lim, by: 'id' });
  return { text: `SELECT ${cols.join(', ')} FROM ${fromSql(q, source)} ORDER BY id LIMIT ${lim}`, values: sql.values };
}
