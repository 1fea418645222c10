// GET /logs: parameters (CONTRACT §5) → one SQL query → items already serialized by PostgreSQL.
import type pg from 'pg';
import { badRequest, HttpError } from '@logstream/shared/errors.js';
import { attrParams, parseFilter, type Filter } from '@logstream/shared/protocol.js';
import { SEARCH_INDEX_EXISTS_SQL } from '@logstream/shared/search-index.js';
import { hasSqlState } from '@logstream/shared/sqlstate.js';
import { filterWhere } from './filter-sql.js';
import { textMatchSql } from './text-match.js';
import { ITEM_JSON_SQL } from './row-json.js';
import { byteBoundedSql, cutByBytes, PAGE_MAX_BYTES } from './page-bytes.js';

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
  const f = parseFilter({ service: params.get('service'), level: params.get('level'), q: params.get('q'), attr: attrParams(params) });
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

export interface LogsPage {
  items: string[];
  ids: number[];
  /**
   * Set when a text search ran out of its time budget before filling the page: every row beyond this id (below it
   * for a page back, above it for a catch-up) has been searched, so the client continues from here (next_before /
   * next_after) instead of waiting for a scan of the whole table.
   */
  resumeAt?: number;
  /** The page stopped at its byte budget (PAGE_MAX_BYTES, page-bytes.ts) before `limit` rows: continue after its last. */
  cut?: boolean;
  /** JSON bytes of the items. */
  bytes: number;
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
  if (q.since || q.until) {
    // logs is partitioned by id (migration 006): the partitions that can hold rows of this time range as an id
    // range, so that the others are pruned at run time instead of each probing its "timestamp" index.
    values.push(q.since ?? null, q.until ?? null);
    const range = `logs_ids_for_time($${values.length - 1}::timestamptz, $${values.length}::timestamptz)`;
    where.push(`id >= (SELECT id_from FROM ${range})`, `id < (SELECT id_to FROM ${range})`);
  }
}

async function select(db: pg.Pool, where: string[], values: unknown[], order: 'ASC' | 'DESC', limit: number, maxBytes = PAGE_MAX_BYTES): Promise<LogsPage> {
  values.push(limit, maxBytes);
  const source = `SELECT * FROM logs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id ${order} LIMIT $${values.length - 1}`;
  const sql = byteBoundedSql(source, order, `id, ${ITEM_JSON_SQL} AS json`, `$${values.length}`);
  const { rows } = await db.query<{ id: number; json: string; bytes_through: string; source_rows: string }>(sql, values);
  const bytes = rows.length > 0 ? Number(rows[rows.length - 1]!.bytes_through) : 0;
  return { items: rows.map((r) => r.json), ids: rows.map((r) => Number(r.id)), bytes, cut: cutByBytes(rows) };
}

export interface SearchOptions {
  /**
   * Rows a text search reads first, by id range, newest first (oldest first for `after`). A common word fills a
   * page within the newest rows; left to itself, with the optional trigram index present, the planner reads every
   * match through the index and sorts them (bench, 5 M rows, a word in 1% of rows: 540 ms that way, 10 ms reading
   * the newest rows). 50,000 rows took ~80 ms here, so 20,000.
   */
  firstWindow: number;
  /**
   * Without the search index, a rare or absent word means reading the whole table (5 M rows: 1-5 s here, and
   * growing with the table). A search stops reading after this long and answers with what it found plus a cursor
   * (LogsPage.resumeAt), as a search engine pages through a log. With the index, the rest of the table is searched
   * through it in one query instead.
   */
  budgetMs: number;
}

export const DEFAULT_SEARCH: SearchOptions = { firstWindow: 20_000, budgetMs: 50 };

export async function queryLogs(db: pg.Pool, q: LogsQuery, search: SearchOptions = DEFAULT_SEARCH): Promise<LogsPage> {
  // `after` catches up oldest first; otherwise newest first (CONTRACT §5).
  const order = q.after !== undefined ? 'ASC' : 'DESC';
  if (q.filter.q === '') {
    const values: unknown[] = [];
    const where = filterWhere(q.filter, values);
    boundsWhere(q, values, where);
    return select(db, where, values, order, q.limit);
  }

  // One round trip for the id range left to search and whether the trigram index can take over.
  const { rows } = await db.query<{ low: string | null; high: string | null; indexed: boolean }>(
    `SELECT min(id) AS low, max(id) AS high, ${SEARCH_INDEX_EXISTS_SQL} AS indexed FROM logs`,
  );
  const { low, high, indexed } = rows[0]!;
  if (low === null || high === null) return { items: [], ids: [], bytes: 0 };
  let from = Math.max(Number(low), q.after === undefined ? 0 : q.after + 1);
  let to = Math.min(Number(high), q.before === undefined ? Number.MAX_SAFE_INTEGER : q.before - 1);

  // Matches in ids [a, b]. By default the text test is strpos on lower() (text-match.ts), which cannot use the
  // trigram index, so the plan stays a scan of the id range; `viaIndex` uses ILIKE instead, leaving the planner free
  // to use it.
  const inRange = (a: number, b: number, limit: number, viaIndex = false) => {
    const maxBytes = PAGE_MAX_BYTES - found.bytes;
    const values: unknown[] = [];
    const where = filterWhere(viaIndex ? q.filter : { ...q.filter, q: '' }, values);
    if (!viaIndex) {
      values.push(q.filter.q);
      where.push(textMatchSql('message', `$${values.length}`));
    }
    values.push(a, b);
    where.push(`id BETWEEN $${values.length - 1} AND $${values.length}`);
    boundsWhere({ ...q, before: undefined, after: undefined }, values, where);
    return select(db, where, values, order, limit, maxBytes);
  };

  const found: LogsPage = { items: [], ids: [], bytes: 0 };
  const started = performance.now();
  let window = search.firstWindow;
  let scanned = 0;
  // The search pool's statement timeout (read-pools.ts) stops a window that the estimate misjudged: the answer then
  // ends where that window began, or, when not even the first one fitted, is a 503 saying so.
  const cutOff = (err: unknown): LogsPage => {
    if (!hasSqlState(err, 'queryCanceled')) throw err;
    if (scanned === 0) throw new HttpError(503, 'query_timeout', 'this search could not read even its first rows in time: narrow it (service, level, since/until)', undefined, { 'Retry-After': '5' });
    return { ...found, resumeAt: order === 'DESC' ? to + 1 : from - 1 };
  };
  while (from <= to) {
    const [a, b] = order === 'DESC' ? [Math.max(from, to - window + 1), to] : [from, Math.min(to, from + window - 1)];
    let page: LogsPage;
    try {
      page = await inRange(a, b, q.limit - found.ids.length);
    } catch (err) {
      return cutOff(err);
    }
    scanned += b - a + 1;
    found.items.push(...page.items);
    found.ids.push(...page.ids);
    found.bytes += page.bytes;
    if (found.ids.length === q.limit) return found;
    // Out of bytes: the client continues after the last row (matches past it in this window are not lost).
    if (page.cut || found.bytes >= PAGE_MAX_BYTES) return { ...found, cut: found.ids.length > 0 };
    if (order === 'DESC') to = a - 1;
    else from = b + 1;
    if (from > to) return found;
    if (indexed) {
      // With the index, the rest of the range in one query: the planner reads the matches through it.
      let rest: LogsPage;
      try {
        rest = await inRange(from, to, q.limit - found.ids.length, true);
      } catch (err) {
        return cutOff(err);
      }
      return { items: [...found.items, ...rest.items], ids: [...found.ids, ...rest.ids], bytes: found.bytes + rest.bytes, cut: rest.cut };
    }
    const elapsed = performance.now() - started;
    const left = search.budgetMs - elapsed;
    if (left <= 0) return { ...found, resumeAt: order === 'DESC' ? to + 1 : from - 1 };
    // The next window fills the time left at the rate measured so far, growing at most twofold per step.
    window = Math.max(1, Math.min(window * 2, Math.floor((left * scanned) / Math.max(elapsed, 0.01))));
  }
  return found;
}

export async function getLog(db: pg.Pool, id: number): Promise<string | undefined> {
  const { rows } = await db.query<{ json: string }>({ name: 'get-log', text: `SELECT ${ITEM_JSON_SQL} AS json FROM logs WHERE id = $1`, values: [id] });
  return rows[0]?.json;
}

/** The row of an event id (the UUIDs a 202 answers in `ids`); logs.event_id is unique. */
export async function getLogByEventId(db: pg.Pool, eventId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ json: string }>({ name: 'get-log-by-event-id', text: `SELECT ${ITEM_JSON_SQL} AS json FROM logs WHERE event_id = $1`, values: [eventId] });
  return rows[0]?.json;
}

const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The id of `GET /logs/<id>`: a row id (the `id` of an item), or an event id (a UUID, as in a 202's `ids`). */
export function parseLogPathId(raw: string): { rowId: number } | { eventId: string } {
  if (EVENT_ID.test(raw)) return { eventId: raw.toLowerCase() };
  if (!/^\d{1,16}$/.test(raw) || Number(raw) > MAX_ID) {
    throw badRequest(`GET /logs/<id> takes a row id (the "id" of an item, an integer) or an event id (a UUID, as in the "ids" of a 202), got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return { rowId: Number(raw) };
}

/** A row id from a path or query parameter; a 400 naming the parameter otherwise. */
export function parseRowId(raw: string, name = 'id'): number {
  return parseId(name, raw);
}
