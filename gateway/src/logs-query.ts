// GET /logs: parameters (CONTRACT §5) → one SQL query → items already serialized by PostgreSQL.
import type pg from 'pg';
import { badRequest } from '../../shared/src/errors.js';
import { parseFilter, type Filter } from '../../shared/src/protocol.js';
import { ITEM_JSON_SQL } from './row-json.js';

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 50;
const MAX_ID = Number.MAX_SAFE_INTEGER;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export interface LogsQuery {
  filter: Filter;
  limit: number;
  since?: Date;
  until?: Date;
  before?: number;
  after?: number;
}

function parseId(name: string, raw: string): number {
  if (!/^\d{1,16}$/.test(raw) || Number(raw) > MAX_ID) throw badRequest(`${name} must be a row id (a non-negative integer), got ${JSON.stringify(raw.slice(0, 40))}`);
  return Number(raw);
}

function parseTime(name: string, raw: string): Date {
  const ms = RFC3339.test(raw) ? Date.parse(raw.replace(' ', 'T')) : NaN;
  if (!Number.isFinite(ms)) throw badRequest(`${name} must be an RFC 3339 time such as 2026-11-26T18:00:00Z, got ${JSON.stringify(raw.slice(0, 40))}`);
  return new Date(ms);
}

/** Query-string parameters → LogsQuery, or a 400 saying what to fix. */
export function parseLogsQuery(params: Map<string, string>): LogsQuery {
  const f = parseFilter({ service: params.get('service'), level: params.get('level'), q: params.get('q') });
  if (!f.ok) throw badRequest(f.message);
  const out: LogsQuery = { filter: f.filter, limit: DEFAULT_LIMIT };
  const limit = params.get('limit');
  if (limit !== undefined && limit !== '') {
    if (!/^\d{1,5}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT) throw badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}`);
    out.limit = Number(limit);
  }
  for (const name of ['before', 'after'] as const) {
    const raw = params.get(name);
    if (raw !== undefined && raw !== '') out[name] = parseId(name, raw);
  }
  for (const name of ['since', 'until'] as const) {
    const raw = params.get(name);
    if (raw !== undefined && raw !== '') out[name] = parseTime(name, raw);
  }
  return out;
}

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
    values.push(filter.minLevel);
    where.push(`level >= $${values.length}`);
  }
  if (filter.q !== '') {
    values.push(likePattern(filter.q));
    where.push(`message ILIKE $${values.length}`);
  }
  return where;
}

export interface LogsPage {
  items: string[];
  ids: number[];
}

/** Bounds on id and time, shared by every form of the query. */
function boundsWhere(q: LogsQuery, values: unknown[], where: string[]): void {
  if (q.before !== undefined) {
    values.push(q.before);
    where.push(`id < $${values.length}`);
  }
  if (q.after !== undefined) {
    values.push(q.after);
    where.push(`id > $${values.length}`);
  }
  if (q.since) {
    values.push(q.since);
    where.push(`"timestamp" >= $${values.length}`);
  }
  if (q.until) {
    values.push(q.until);
    where.push(`"timestamp" <= $${values.length}`);
  }
}

async function select(db: pg.Pool, where: string[], values: unknown[], order: 'ASC' | 'DESC', limit: number): Promise<LogsPage> {
  values.push(limit);
  const sql = `SELECT id, ${ITEM_JSON_SQL} AS json FROM logs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id ${order} LIMIT $${values.length}`;
  const { rows } = await db.query<{ id: number; json: string }>(sql, values);
  return { items: rows.map((r) => r.json), ids: rows.map((r) => r.id) };
}

/**
 * Rows a text search reads newest first, by id range, before the planner may choose its own plan. A common word
 * fills a page within the newest rows; left to itself, with the optional trigram index present, the planner reads
 * every match through the index and sorts them (bench, 5 M rows, a word in 1% of rows: 540 ms that way, 10 ms
 * reading the newest rows). The range costs a rare word its scan first (50,000 rows: ~80 ms here, so 20,000), then
 * the rest of the table is searched with the planner's choice (the index, when it exists).
 */
export const RECENT_WINDOW_ROWS = 20_000;

export async function queryLogs(db: pg.Pool, q: LogsQuery, recentWindow = RECENT_WINDOW_ROWS): Promise<LogsPage> {
  // `after` catches up oldest first; otherwise newest first (CONTRACT §5).
  const order = q.after !== undefined ? 'ASC' : 'DESC';
  if (q.filter.q === '' || order === 'ASC') {
    const values: unknown[] = [];
    const where = filterWhere(q.filter, values);
    boundsWhere(q, values, where);
    return select(db, where, values, order, q.limit);
  }

  const { rows } = await db.query<{ top: number }>(
    q.before === undefined ? 'SELECT coalesce(max(id), 0) AS top FROM logs' : 'SELECT coalesce(max(id), 0) AS top FROM logs WHERE id < $1',
    q.before === undefined ? [] : [q.before],
  );
  const low = rows[0]!.top - recentWindow;

  // 1. The newest rows, by id range; strpos on lower() cannot use the trigram index, so the plan stays an id scan.
  const recentValues: unknown[] = [];
  const recent = filterWhere({ ...q.filter, q: '' }, recentValues);
  recentValues.push(q.filter.q);
  recent.push(`strpos(lower(message), $${recentValues.length}) > 0`);
  recentValues.push(low);
  recent.push(`id > $${recentValues.length}`);
  boundsWhere(q, recentValues, recent);
  const first = await select(db, recent, recentValues, 'DESC', q.limit);
  if (first.ids.length === q.limit || low <= 0) return first;

  // 2. The rest of the table, below that range.
  const olderValues: unknown[] = [];
  const older = filterWhere(q.filter, olderValues);
  olderValues.push(low);
  older.push(`id <= $${olderValues.length}`);
  boundsWhere(q, olderValues, older);
  const rest = await select(db, older, olderValues, 'DESC', q.limit - first.ids.length);
  return { items: [...first.items, ...rest.items], ids: [...first.ids, ...rest.ids] };
}

export async function getLog(db: pg.Pool, id: number): Promise<string | undefined> {
  const { rows } = await db.query<{ json: string }>({ name: 'get-log', text: `SELECT ${ITEM_JSON_SQL} AS json FROM logs WHERE id = $1`, values: [id] });
  return rows[0]?.json;
}

/** A row id from a path or query parameter; a 400 naming the parameter otherwise. */
export function parseRowId(raw: string, name = 'id'): number {
  return parseId(name, raw);
}
