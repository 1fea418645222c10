// GET /logs: parameters (CONTRACT §5) → one SQL query → items already serialized by PostgreSQL.
import type pg from 'pg';
import { badRequest, HttpError } from '@logstream/shared/errors.js';
import { attrParams, parseFilter, type Filter } from '@logstream/shared/protocol.js';
import { INDEXED_RANGES_SQL } from '@logstream/shared/search-index.js';
import { Sql } from '@logstream/shared/sql.js';
import { hasSqlState } from '@logstream/shared/sqlstate.js';
import { filterWhere } from './filter-sql.js';
import { textMatchSql } from './text-match.js';
import { PAGE_MAX_BYTES } from './page-bytes.js';
import { logsPage } from './sql/logs-page.js';
import { batchWhere, type RowBounds } from './sql/logs-source.js';
import { batchRangeWhere, packedBatchIn, packedSearchSql, packedWindowEdge, rowsSearchSql, sourcePage, type IdRange, type PackSearchArgs } from './sql/packed-search.js';

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

/**
 * Bounds on id and time, shared by every form of the query: conditions on rows into `where` and, given `packed`, the
 * same bounds as conditions on packed batches into it (logs-source.ts).
 */
function boundsWhere(q: LogsQuery, sql: Sql, where: string[], packed?: string[]): void {
  const bounds: RowBounds[] = [];
  if (q.before !== undefined) {
    const p = sql.param(q.before);
    where.push(`id < ${p}`);
    bounds.push({ idLt: p });
  }
  if (q.after !== undefined) {
    const p = sql.param(q.after);
    where.push(`id > ${p}`);
    bounds.push({ idGt: p });
  }
  if (q.since) {
    const p = sql.param(q.since);
    where.push(`"timestamp" >= ${p}`);
    bounds.push({ tsGe: p });
  }
  if (q.until) {
    const p = sql.param(q.until);
    where.push(`"timestamp" <= ${p}`);
    bounds.push({ tsLe: p });
  }
  if (q.since || q.until) {
    // logs is partitioned by id (migration 006): the partitions that can hold rows of this time range as an id
    // range, so that the others are pruned at run time instead of each probing its "timestamp" index.
    const range = `logs_ids_for_time(${sql.param(q.since ?? null)}::timestamptz, ${sql.param(q.until ?? null)}::timestamptz)`;
    where.push(`id >= (SELECT id_from FROM ${range})`, `id < (SELECT id_to FROM ${range})`);
    bounds.push({ idGe: `(SELECT id_from FROM ${range})`, idLt: `(SELECT id_to FROM ${range})` });
  }
  packed?.push(...bounds.flatMap((b) => batchWhere(b, undefined, sql)));
}

export interface SearchOptions {
  /**
   * Rows a text search reads first, by id range, newest first (oldest first for `after`). A common word fills a
   * page within the newest rows; left to itself, with a trigram index present, the planner reads every match
   * through the index and sorts them (bench, 5 M rows, a word in 1% of rows: 540 ms that way, 10 ms reading the
   * newest rows). 50,000 rows took ~80 ms here, so 20,000; then 10,000 (a word in 1% of rows still fills a page of
   * 50 twice over): on the kept 5 M-row table at load average 7, 15 runs interleaved, 'zzqx-absent' p50 123 → 76 ms,
   * 'deadlock' (limit 1000) 197 → 131 ms, 'timeout' (1%, limit 50) 47 → 43 ms — the first window was most of a rare
   * word's time (20,000 rows: 100-160 ms of lower() and strpos at that load).
   */
  firstWindow: number;
  /**
   * Without a search index, a rare or absent word means reading every row (5 M rows: 1-5 s here, and growing with
   * the table). Scanning stops after this long and answers with what it found plus a cursor (LogsPage.resumeAt), as
   * a search engine pages through a log. Partitions with a search index (closed ones) are searched through it, in
   * one query per stretch of them, whatever is left of the budget.
   */
  budgetMs: number;
  /** Batches a search reads first in a stretch of packed partitions (default PACKED_FIRST_BATCHES; tests use 1). */
  firstBatches?: number;
}

export const DEFAULT_SEARCH: SearchOptions = { firstWindow: 10_000, budgetMs: 50 };

export async function queryLogs(db: pg.Pool, q: LogsQuery, search: SearchOptions = DEFAULT_SEARCH): Promise<LogsPage> {
  // `after` catches up oldest first; otherwise newest first (CONTRACT §5).
  const order = q.after !== undefined ? 'ASC' : 'DESC';
  if (q.filter.q === '') {
    const sql = new Sql();
    const where = filterWhere(q.filter, sql.values);
    const packed = batchWhere({}, q.filter, sql);
    boundsWhere(q, sql, where, packed);
    return logsPage(db, where, sql, order, q.limit, PAGE_MAX_BYTES, packed);
  }

  // One round trip for the id range left to search, the id ranges of the partitions with a search index, and those of
  // closed partitions (packed ones, and those that may be swapped for their packed copy while this search runs).
  const { rows } = await db.query<{
    low: string | null;
    high: string | null;
    packed_low: string | null;
    packed_high: string | null;
    indexed: [string, string, boolean][];
    closed: [string, string, boolean, boolean, number | null][];
    args: PackSearchArgs | null;
  }>(
    `SELECT min(id)::text AS low, max(id)::text AS high,
            (SELECT min(id_from) FROM logs_packed)::text AS packed_low, (SELECT max(id_to) FROM logs_packed)::text AS packed_high,
            (SELECT coalesce(json_agg(json_build_array(greatest(id_from, 0)::text, (id_to - 1)::text, whole) ORDER BY id_from), '[]') FROM (${INDEXED_RANGES_SQL}) r) AS indexed,
            (SELECT coalesce(json_agg(json_build_array(greatest(id_from, 0)::text, (id_to - 1)::text, packed, to_regclass(name || '_packed_trgm') IS NOT NULL,
                                      CASE WHEN packed THEN (SELECT reltuples FROM pg_class WHERE oid = to_regclass(name || '_packed')) END) ORDER BY id_from), '[]')
               FROM logs_partitions WHERE closed) AS closed,
            CASE WHEN EXISTS (SELECT FROM logs_partitions WHERE packed) THEN (SELECT row_to_json(a) FROM logs_pack_search_args($1) a) END AS args
     FROM logs`,
    [q.filter.q],
  );
  const head = rows[0]!;
  const lows = [head.low, head.packed_low].filter((x) => x !== null).map(Number);
  const highs = [head.high, head.packed_high].filter((x) => x !== null).map(Number);
  if (lows.length === 0 || highs.length === 0) return { items: [], ids: [], bytes: 0 };
  let from = Math.max(Math.min(...lows), q.after === undefined ? 0 : q.after + 1);
  let to = Math.min(Math.max(...highs), q.before === undefined ? Number.MAX_SAFE_INTEGER : q.before - 1);
  // A trigram index narrows a search only for a q with 3 letters or digits in a row (pg_trgm's words); for a shorter
  // one it would return every row to recheck, so those are read by scan.
  const trigrams = /[\p{L}\p{N}]{3}/u.test(q.filter.q);
  const spans = trigrams ? indexedSpans(head.indexed) : [];
  // A copy's batches as pg_class counts them (VACUUM ANALYZE after its build; -1 before any: taken as unknown, many).
  const closed = head.closed.map(([lo, hi, packed, trgm, batches]) => ({ lo: Number(lo), hi: Number(hi), packed, trgm, batches: batches === null || batches < 0 ? Infinity : batches }));
  // Packed partitions: their rows are in logs_packed only. Read through the copy's trigram index, or by scan of
  // their batches within the budget (a short q, or a copy without the index: pg_trgm missing).
  const packedSpans = mergedSpans(closed.filter((p) => p.packed).map((p) => ({ lo: p.lo, hi: p.hi, indexed: trigrams && p.trgm, batches: p.batches })));
  // Closed partitions still stored as rows may be swapped for their packed copy between two statements of this
  // search (021's logs_pack_swap; the maintenance loop does it): a statement over their ids reads both tables.
  const swappable = closed.filter((p) => !p.packed);
  const args: PackSearchArgs = head.args ?? { re: null, lq: '', folds: null };

  // Matches in ids [a, b]. By default the text test is strpos on lower() (text-match.ts), which cannot use the
  // trigram index, so the plan stays a scan of the id range; `viaIndex` uses ILIKE instead, leaving the planner free
  // to use it.
  const inRange = (a: number, b: number, limit: number, viaIndex = false) => {
    const maxBytes = PAGE_MAX_BYTES - found.bytes;
    const sql = new Sql();
    const where = filterWhere(viaIndex ? q.filter : { ...q.filter, q: '' }, sql.values);
    if (!viaIndex) where.push(textMatchSql('message', sql.param(q.filter.q)));
    where.push(`id BETWEEN ${sql.param(a)} AND ${sql.param(b)}`);
    const swapped = swappable.filter((p) => p.lo <= b && a <= p.hi);
    const packedWhere = swapped.length === 0 ? undefined : [...batchRangeWhere({ lo: a, hi: b }, Math.min(...swapped.map((p) => p.lo)), sql), ...batchWhere({}, q.filter, sql)];
    boundsWhere({ ...q, before: undefined, after: undefined }, sql, where, packedWhere);
    return sourcePage(db, rowsSearchSql(where, packedWhere, order, sql.param(limit)), sql, order, maxBytes);
  };
  // Matches in the packed batches of ids `range` (within a packed span starting at `floor`).
  const inPacked = (range: IdRange, floor: number, limit: number, fenced: boolean) => {
    const maxBytes = PAGE_MAX_BYTES - found.bytes;
    const sql = new Sql();
    const where = filterWhere({ ...q.filter, q: '' }, sql.values);
    where.push(`id BETWEEN ${sql.param(range.lo)} AND ${sql.param(range.hi)}`);
    const batchConds = [...batchRangeWhere(range, floor, sql), ...batchWhere({}, { ...q.filter, q: '' }, sql)];
    boundsWhere({ ...q, before: undefined, after: undefined }, sql, where, batchConds);
    return sourcePage(db, packedSearchSql(q.filter.q, args, batchConds, where, order, sql.param(limit), sql, { fenced }), sql, order, maxBytes);
  };

  const found: LogsPage = { items: [], ids: [], bytes: 0 };
  let window = search.firstWindow;
  let scanned = 0;
  let scanMs = 0;
  // A packed stretch was read through its index (not counted in `scanned`, which sizes the scan windows).
  let read = false;
  // The search pool's statement timeout (read-pools.ts) stops a window that the estimate misjudged: the answer then
  // ends where that window began, or, when not even the first one fitted, is a 503 saying so.
  const cutOff = (err: unknown): LogsPage => {
    if (!hasSqlState(err, 'queryCanceled')) throw err;
    if (scanned === 0 && !read) throw new HttpError(503, 'query_timeout', 'this search could not read even its first rows in time: narrow it (service, level, since/until)', undefined, { 'Retry-After': '5' });
    return { ...found, resumeAt: order === 'DESC' ? to + 1 : from - 1 };
  };
  /** Adds a window's rows to the answer; true when the answer is complete (the limit, or the byte budget). */
  const add = (page: LogsPage): boolean => {
    found.items.push(...page.items);
    found.ids.push(...page.ids);
    found.bytes += page.bytes;
    if (found.ids.length === q.limit) return true;
    // Out of bytes: the client continues after the last row (matches past it in this window are not lost).
    if (page.cut || found.bytes >= PAGE_MAX_BYTES) {
      found.cut = found.ids.length > 0;
      return true;
    }
    return false;
  };
  // Newest first (oldest first for `after`): the first window by scan, where a common word fills the page; then
  // each stretch of partitions with a search index in one query through it (closed partitions: issue 15 point 5),
  // packed partitions through their copies' index in windows of batches (below), and the others (the partition being
  // written, closed ones not indexed yet) by scan windows within the budget.
  while (from <= to) {
    const at = order === 'DESC' ? to : from;
    const packed = packedSpans.find((s) => s.lo <= at && at <= s.hi);
    if (packed) {
      // Batches newest first (oldest first for `after`), in windows read by id (fenced: packed-search.ts), so that a
      // common word fills the page within the first ones instead of having every batch of the stretch that holds it
      // tested and sorted. Through the index, after the first window: the rest of the stretch at once when the
      // matches found so far say it holds fewer than a window would read (none found: a rare or absent word, which
      // the index narrows to the few batches holding it), else the next window, sized by those matches and by the
      // time left. By scan (short q, no index), every window within the time left, as the rows' windows below.
      let batches = search.firstBatches ?? PACKED_FIRST_BATCHES;
      let rowsFound = 0;
      let batchesRead = 0;
      while (from <= to && (order === 'DESC' ? to >= packed.lo : from <= packed.hi)) {
        const range = order === 'DESC' ? { lo: Math.max(from, packed.lo), hi: to } : { lo: from, hi: Math.min(to, packed.hi) };
        const rest = batches === Infinity;
        // The first window of an indexed stretch is read whatever the time left (20 batches: ~4 ms here).
        if (!rest && scanned > 0 && (!packed.indexed || batchesRead > 0)) {
          const left = search.budgetMs - scanMs;
          if (left <= 0) return { ...found, resumeAt: order === 'DESC' ? to + 1 : from - 1 };
          batches = Math.max(1, Math.min(batches, Math.floor((left * scanned) / Math.max(scanMs, 0.01) / PACKED_BATCH_ROWS)));
        }
        const started = performance.now();
        let page: LogsPage;
        let edge: number;
        try {
          edge = rest ? (order === 'DESC' ? range.lo : range.hi) : await packedWindowEdge(db, order, range, packed.lo, batches);
          const win = order === 'DESC' ? { lo: edge, hi: range.hi } : { lo: range.lo, hi: edge };
          page = await inPacked(win, packed.lo, q.limit - found.ids.length, !rest);
        } catch (err) {
          return cutOff(err);
        }
        if (!rest) {
          scanned += batches * PACKED_BATCH_ROWS;
          scanMs += performance.now() - started;
          batchesRead += batches;
        }
        read = true;
        rowsFound += page.ids.length;
        if (add(page)) return found;
        if (order === 'DESC') to = edge - 1;
        else from = edge + 1;
        const needed = q.limit - found.ids.length;
        const next = rowsFound === 0 ? Infinity : Math.max(batches * 2, Math.ceil((1.5 * needed * batchesRead) / rowsFound));
        if (!packed.indexed) batches = Math.min(next, batches * 2);
        else {
          // Matches expected in the rest of the stretch, at the rate found so far (its batches estimated from the
          // copies' row counts in pg_class, in proportion to the ids left).
          const left = order === 'DESC' ? to - packed.lo + 1 : packed.hi - from + 1;
          const expected = (rowsFound / batchesRead) * packed.batches * Math.max(0, left / (packed.hi - packed.lo + 1));
          batches = expected <= next ? Infinity : next;
        }
      }
      continue;
    }
    const span = scanned > 0 ? spans.find((s) => s.lo <= at && at <= s.hi) : undefined;
    let a: number;
    let b: number;
    if (span) {
      [a, b] = order === 'DESC' ? [Math.max(from, span.lo), to] : [from, Math.min(to, span.hi)];
    } else {
      // Not into an indexed stretch beyond: that one is read through its index; nor into a packed one.
      const ahead = [...(scanned > 0 ? spans : []), ...packedSpans];
      const stop = order === 'DESC'
        ? Math.max(from, 1 + Math.max(-1, ...ahead.filter((s) => s.hi < to).map((s) => s.hi)))
        : Math.min(to, -1 + Math.min(Number.MAX_SAFE_INTEGER, ...ahead.filter((s) => s.lo > from).map((s) => s.lo)));
      if (scanned > 0) {
        const left = search.budgetMs - scanMs;
        if (left <= 0) {
          // Out of time, but no row is stored before the next indexed stretch (ids of seconds with no commit, between
          // a chunk's end and the first row the first window read): go on to it instead of stopping here.
          let empty: boolean;
          try {
            empty = (await windowEdge(db, order, order === 'DESC' ? to : from, stop, 1, true)) === undefined;
            // Nor in batches: a closed partition there may have been swapped for its packed copy since the start.
            const [lo, hi] = order === 'DESC' ? [stop, to] : [from, stop];
            if (empty && swappable.some((p) => p.lo <= hi && lo <= p.hi)) empty = !(await packedBatchIn(db, { lo, hi }));
          } catch (err) {
            return cutOff(err);
          }
          if (!empty) return { ...found, resumeAt: order === 'DESC' ? to + 1 : from - 1 };
          if (order === 'DESC') to = stop - 1;
          else from = stop + 1;
          continue;
        }
        // The next window fills the time left at the rate measured so far, growing at most twofold per step.
        window = Math.max(1, Math.min(window * 2, Math.floor((left * scanned) / Math.max(scanMs, 0.01))));
      }
      // A window is `window` stored rows, not ids: ids jump by 2^20 a second (migration 006), so an id range may
      // hold few rows or none (a partition's start before its first row).
      let edge: number;
      try {
        edge = await windowEdge(db, order, order === 'DESC' ? to : from, stop, window);
      } catch (err) {
        return cutOff(err);
      }
      [a, b] = order === 'DESC' ? [edge, to] : [from, edge];
    }
    const started = performance.now();
    let page: LogsPage;
    try {
      page = await inRange(a, b, q.limit - found.ids.length, span !== undefined);
    } catch (err) {
      return cutOff(err);
    }
    if (!span) {
      scanned += window;
      scanMs += performance.now() - started;
    }
    if (add(page)) return found;
    if (order === 'DESC') to = a - 1;
    else from = b + 1;
  }
  return found;
}

/**
 * Batches (of PACKED_BATCH_ROWS rows, logs_pack_build's default) a search reads first in a packed stretch, by id: what
 * every rare word pays before the index (50 batches took 9-17 ms for 'deadlock' on the kept 5 M-row table's packed
 * partition, load average 8), and what tells a common word from a rare one (the bench's 'timeout', in 1% of rows,
 * gives ~13 rows in 20 batches; the next window is sized from them).
 */
const PACKED_FIRST_BATCHES = 20;
const PACKED_BATCH_ROWS = 100;

/** Id ranges (inclusive) in order, those that touch merged when of the same kind (their batches added up). */
function mergedSpans(ranges: readonly PackedSpan[]): PackedSpan[] {
  const out: PackedSpan[] = [];
  for (const r of [...ranges].sort((x, y) => x.lo - y.lo)) {
    const last = out[out.length - 1];
    if (last && last.indexed === r.indexed && r.lo === last.hi + 1) {
      last.hi = r.hi;
      last.batches += r.batches;
    } else out.push({ ...r });
  }
  return out;
}

interface PackedSpan {
  lo: number;
  hi: number;
  indexed: boolean;
  batches: number;
}

/**
 * The id `window` rows on from `start` towards `stop` (both included), or `stop` when fewer rows are left
 * (`orNone`: undefined then).
 */
async function windowEdge(db: pg.Pool, order: 'ASC' | 'DESC', start: number, stop: number, window: number): Promise<number>;
async function windowEdge(db: pg.Pool, order: 'ASC' | 'DESC', start: number, stop: number, window: number, orNone: true): Promise<number | undefined>;
async function windowEdge(db: pg.Pool, order: 'ASC' | 'DESC', start: number, stop: number, window: number, orNone = false): Promise<number | undefined> {
  const [lo, hi] = order === 'DESC' ? [stop, start] : [start, stop];
  const { rows } = await db.query<{ edge: string | null }>(
    `SELECT (SELECT id FROM logs WHERE id BETWEEN $1 AND $2 ORDER BY id ${order} OFFSET $3 LIMIT 1) AS edge`,
    [lo, hi, window - 1],
  );
  if (rows[0]!.edge === null) return orNone ? undefined : stop;
  return Number(rows[0]!.edge);
}

/**
 * Id ranges (inclusive) readable through a search index, in order and without overlap: whole partitions' merged
 * where they touch, so that neighbours are read in one query; a chunk (a partial index, search-index.ts) alone, as
 * the planner uses it only for a statement whose id range lies within it. A chunk inside another range (a build
 * replacing it) is left out.
 */
export function indexedSpans(ranges: readonly [string, string, boolean][]): { lo: number; hi: number }[] {
  const sorted = ranges.map(([a, b, whole]) => ({ lo: Number(a), hi: Number(b), whole })).sort((x, y) => x.lo - y.lo || y.hi - x.hi);
  const out: { lo: number; hi: number; whole: boolean }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.hi <= last.hi) continue;
    // A part of a range is still within its index's predicate.
    const lo = last ? Math.max(r.lo, last.hi + 1) : r.lo;
    if (last && last.whole && r.whole && lo === last.hi + 1) last.hi = r.hi;
    else out.push({ lo, hi: r.hi, whole: r.whole });
  }
  return out.map(({ lo, hi }) => ({ lo, hi }));
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
