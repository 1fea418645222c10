// GET /stats (issue 6): totals by level and service, top services, events per second now and a histogram with
// per-level counts, for a window of 1m..30d. Answered from the per-minute / per-hour rollups of migration 002
// when the buckets are whole minutes and there is no text search; otherwise from the logs table itself
// (sub-minute buckets only occur for windows up to 1 h, where the "timestamp" index keeps the scan small).
import type pg from 'pg';
import { badRequest, HttpError } from '@logstream/shared/errors.js';
import { LEVELS, levelName, type LevelName } from '@logstream/shared/levels.js';
import { attrParams, parseFilter, type Filter, type StatsResponse } from '@logstream/shared/protocol.js';
import { hasSqlState } from '@logstream/shared/sqlstate.js';
import { DEFAULT_SEARCH } from './logs-query.js';
import { bucketCounts, rateAndHead, searchChunks, type GroupRow } from './sql/stats-counts.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
export const MIN_WINDOW_MS = MINUTE;
export const MAX_WINDOW_MS = 30 * DAY;
export const MAX_BUCKETS = 500;
export const DEFAULT_WINDOW = '15m';
/** "Events per second now" is the count over this many ms before now, divided by it: smooth, yet recent. */
export const RATE_SPAN_MS = 10 * SECOND;
const TOP_SERVICES = 10;
/** by_service lists at most this many services (the busiest); more would make the answer larger than useful. */
const MAX_SERVICES = 500;
/** Bucket sizes offered by default: the smallest that gives at most DEFAULT_BUCKETS_TARGET buckets is chosen. */
const NICE_BUCKETS = [1, 5, 10, 15, 30].map((s) => s * SECOND)
  .concat([1, 5, 10, 15, 30].map((m) => m * MINUTE), [1, 2, 3, 6, 12].map((h) => h * HOUR), [DAY]);
const DEFAULT_BUCKETS_TARGET = 60;
const UNITS: Record<string, number> = { s: SECOND, m: MINUTE, h: HOUR, d: DAY };

export interface StatsQuery {
  filter: Filter;
  windowMs: number;
  bucketMs: number;
}

export type StatsResult = StatsResponse;

/** "15m" → 900000; undefined when not a duration. */
export function parseDuration(raw: string): number | undefined {
  const m = /^(\d{1,6})([smhd])$/.exec(raw.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** 900000 → "15m"; days only from 2 d up, so that 24h reads as asked. */
export function formatDuration(ms: number): string {
  for (const u of ['d', 'h', 'm', 's'] as const) if (ms % UNITS[u]! === 0 && (u !== 'd' || ms >= 2 * DAY)) return `${ms / UNITS[u]!}${u}`;
  return `${ms}ms`;
}

/** Above 6 h the default bucket is whole hours, answered from logs_per_hour: a 24 h window from the minute rollup
 * reads up to 1,440 × levels × services rows (bench: p95 ~400 ms on 5 M rows, 20 services) against ~20 ms. */
export function defaultBucketMs(windowMs: number): number {
  const candidates = windowMs > 6 * HOUR ? NICE_BUCKETS.filter((b) => b % HOUR === 0) : NICE_BUCKETS;
  return candidates.find((b) => windowMs / b <= DEFAULT_BUCKETS_TARGET) ?? DAY;
}

/** Query-string parameters → StatsQuery, or a 400 saying what to fix. */
export function parseStatsQuery(params: Map<string, string>): StatsQuery {
  const f = parseFilter({ service: params.get('service'), level: params.get('level'), q: params.get('q'), attr: attrParams(params) });
  if (!f.ok) throw badRequest(f.message);
  const rawWindow = params.get('window') || DEFAULT_WINDOW;
  const windowMs = parseDuration(rawWindow);
  if (windowMs === undefined || windowMs < MIN_WINDOW_MS || windowMs > MAX_WINDOW_MS) {
    throw badRequest(`window must be a duration from 1m to 30d such as 15m, 6h or 7d (units s, m, h, d), got ${JSON.stringify(rawWindow.slice(0, 40))}`);
  }
  const rawBucket = params.get('bucket');
  let bucketMs = defaultBucketMs(windowMs);
  if (rawBucket !== undefined && rawBucket !== '') {
    const b = parseDuration(rawBucket);
    if (b === undefined || b < SECOND) throw badRequest(`bucket must be a duration of at least 1s such as 10s, 1m or 1h, got ${JSON.stringify(rawBucket.slice(0, 40))}`);
    if (b > windowMs) throw badRequest(`bucket (${rawBucket}) must not be longer than window (${rawWindow})`);
    if (Math.ceil(windowMs / b) > MAX_BUCKETS) {
      throw badRequest(`window ${rawWindow} with bucket ${rawBucket} makes ${Math.ceil(windowMs / b)} buckets; at most ${MAX_BUCKETS}: use a bucket of at least ${formatDuration(Math.ceil(windowMs / MAX_BUCKETS / SECOND) * SECOND)}`);
    }
    bucketMs = b;
  }
  return { filter: f.filter, windowMs, bucketMs };
}

/** Buckets are aligned to multiples of their size since the epoch (UTC), so that refreshes line up; the window is
 * rounded out to whole buckets, the last one holding `now`. */
export function bucketRange(q: StatsQuery, now: number): { from: number; to: number; count: number } {
  const to = Math.floor(now / q.bucketMs) * q.bucketMs + q.bucketMs;
  const count = Math.ceil(q.windowMs / q.bucketMs);
  return { from: to - count * q.bucketMs, to, count };
}

const emptyLevels = (): Record<LevelName, number> => Object.fromEntries(LEVELS.map((l) => [l, 0])) as Record<LevelName, number>;

/** Whether the answer is counted from the logs table itself (a text search, or bars under a minute): an expensive read. */
export function countsFromRows(q: StatsQuery): boolean {
  // The rollups count by level and service only: attribute filters (issue 16) count the rows too.
  return q.filter.q !== '' || (q.filter.attrs?.length ?? 0) > 0 || q.bucketMs % MINUTE !== 0;
}

/** Where the counts come from: the logs table itself, or the rollup of whole hours or minutes (migration 002). */
function countSource(q: StatsQuery): StatsResult['source'] {
  return countsFromRows(q) ? 'logs' : q.bucketMs % HOUR === 0 ? 'rollup_hour' : 'rollup_minute';
}

/**
 * Rollups answer in milliseconds; counting the rows without q (bars under a minute, windows up to 500 of them)
 * reads at most ~8 h of rows by the "timestamp" index. Past this limit PostgreSQL cancels the query and the client
 * is told to narrow it.
 */
export const STATS_TIMEOUT_MS = 5_000;
/** The events-per-second count reads the last RATE_SPAN_MS of rows, whatever the parameters; this bounds it with q. */
export const RATE_TIMEOUT_MS = 1_000;

const isCancel = (err: unknown) => hasSqlState(err, 'queryCanceled');

async function inSnapshot<T>(db: pg.Pool, ms: number, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await db.connect();
  try {
    // One snapshot for every statement of the answer (a text search counts in several), so that the counts and
    // `head` agree.
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await c.query(`SET LOCAL statement_timeout = ${Math.floor(ms)}`);
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    // 57014 query_canceled: our own statement_timeout.
    if (isCancel(err)) {
      throw new HttpError(503, 'query_timeout', `this /stats query took over ${ms / SECOND} s: use a shorter window or fewer bars`, undefined, { 'Retry-After': '10' });
    }
    throw err;
  } finally {
    c.release();
  }
}

/**
 * Counting a text search reads every matching row of the window: without the search index every row (15 minutes of
 * the bench's 5 M-row hour: 2.3 s, again at each refresh of the page), and even with it a common word (1% of rows:
 * 0.7 s). Such a count goes back from the newest bucket and stops after the same budget as a /logs search
 * (SEARCH_BUDGET_MS, logs-query.ts), answering for the buckets it finished (`complete: false`, `counted_from`).
 * Every slice, the newest bucket too, runs under what is left of the budget as its statement timeout: with
 * window=30d&bucket=30d the newest bucket is the whole window (1 M rows: 3.3 s), so parameters cannot buy more
 * time than the budget; a newest bucket that does not fit is answered as nothing counted (`counted_from` = `to`).
 */
export async function queryStats(db: pg.Pool, q: StatsQuery, now = Date.now(), budgetMs = DEFAULT_SEARCH.budgetMs): Promise<StatsResult> {
  const { from, to, count } = bucketRange(q, now);
  const source = countSource(q);
  // Buckets [countedFrom, count) are counted.
  let countedFrom = count;
  const search = q.filter.q !== '';
  const { rows, rate, head } = await inSnapshot(db, search ? RATE_TIMEOUT_MS : STATS_TIMEOUT_MS, async (c) => {
    // The newest id is read in the same snapshot as the counts: they cover exactly the rows with id ≤ head, so a
    // live client adds only the rows it receives after head. (ids commit in order, processor/src/sql/store-batch.ts,
    // so no row below head can appear later.)
    const { rate, head } = await rateAndHead(c, q.filter, now, RATE_SPAN_MS);
    const rows: GroupRow[] = [];
    const chunks = search ? await searchChunks(c) : [];
    // Buckets [lo, hi) in one statement; b comes back relative to lo.
    const countBuckets = async (lo: number, hi: number) => {
      const got = await bucketCounts(c, q.filter, source, q.bucketMs, from + lo * q.bucketMs, from + hi * q.bucketMs, chunks);
      for (const r of got) rows.push(r.b === null ? r : { ...r, b: r.b + lo });
    };
    if (!search) {
      await countBuckets(0, count);
      countedFrom = 0;
      return { rows, rate, head };
    }
    // Rows are not spread evenly over time (the newest buckets of the bench's table are empty), so a slice sized
    // from the rate so far can be far slower: the timeout, not the estimate, keeps the answer within the budget.
    const started = performance.now();
    let hi = count;
    let size = 1;
    while (hi > 0) {
      const left = Math.floor(budgetMs - (performance.now() - started));
      if (left < 1) break;
      const lo = Math.max(0, hi - size);
      await c.query('SAVEPOINT slice');
      await c.query(`SET LOCAL statement_timeout = ${left}`);
      try {
        await countBuckets(lo, hi);
      } catch (err) {
        if (!isCancel(err)) throw err;
        await c.query('ROLLBACK TO SAVEPOINT slice');
        break;
      }
      await c.query('RELEASE SAVEPOINT slice');
      hi = lo;
      size *= 2;
    }
    countedFrom = hi;
    return { rows, rate, head };
  });

  const buckets = Array.from({ length: count }, (_, i) => ({ start: new Date(from + i * q.bucketMs).toISOString(), total: 0, counts: emptyLevels() }));
  const byLevel = emptyLevels();
  const perService = new Map<string, number>();
  let total = 0;
  for (const r of rows) {
    const n = Number(r.n);
    if (n <= 0) continue;
    if (r.service !== null) {
      perService.set(r.service, (perService.get(r.service) ?? 0) + n);
    } else if (r.b !== null && r.level !== null) {
      const bucket = buckets[r.b];
      if (!bucket) continue;
      const name = levelName(r.level);
      bucket.counts[name] += n;
      bucket.total += n;
      byLevel[name] += n;
      total += n;
    }
  }
  const services = [...perService].map(([service, count]) => ({ service, count }));
  services.sort((a, b) => b.count - a.count || (a.service < b.service ? -1 : 1));
  const bySevice = Object.fromEntries(services.slice(0, MAX_SERVICES).map((s) => [s.service, s.count]));
  return {
    window: formatDuration(q.windowMs),
    bucket: formatDuration(q.bucketMs),
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    source,
    head,
    complete: countedFrom === 0,
    counted_from: new Date(from + countedFrom * q.bucketMs).toISOString(),
    total,
    by_level: byLevel,
    by_service: bySevice,
    top_services: services.slice(0, TOP_SERVICES),
    events_per_second: rate / (RATE_SPAN_MS / SECOND),
    rate_span_s: RATE_SPAN_MS / SECOND,
    buckets,
  };
}
