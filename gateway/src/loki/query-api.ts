// Loki's query endpoints (issue 16), as functions of the request parameters → the JSON body, in Loki's shapes:
// `status`, `data.resultType`, ns timestamps as strings, matrix times as float seconds, values as strings, `stats`.
import type pg from 'pg';
import type { Connectable } from '../read-pools.js';
import { HttpError } from '@logstream/shared/errors.js';
import { hasSqlState } from '@logstream/shared/sqlstate.js';
import { isLogQuery, type LogQuery, type Query } from '../logql/ast.js';
import { evalMetric, MAX_ENTRIES, MAX_POINTS, runLogQuery, type ExecStats, type MetricResult } from '../logql/evaluate.js';
import { rowLabels, labelsKey, type Labels } from '../logql/labels.js';
import { Sql } from '@logstream/shared/sql.js';
import { fromSql, labelSql, LOG_QUERY_MAX_BYTES, parsersOf, rollupEligible, sourceSql, whereSql, windowSql } from '../logql/to-sql.js';
import { AnswerCache, roundedWindow } from './answer-cache.js';
import { SampleBases, type SampleRead } from './sample-reuse.js';
import { HOUR_NS, lokiBadRequest, LokiError, parseDirection, parseDurationParam, parseLimit, parseQueryText, parseTimeNs, nowNs, timeRange } from './params.js';

/**
 * Every Loki query runs under this statement timeout, so that no query (a regex with catastrophic backtracking, a
 * month of rows read by a line filter) can hold a connection for longer; PostgreSQL cancels it and the client is
 * told (503 query_timeout). 10 s as /stats (stats-query.ts STATS_TIMEOUT_MS).
 */
export const LOKI_QUERY_TIMEOUT_MS = 10_000;
/** Rows read to list label names, values and series (newest first in the window): a sample, as Loki's own index
 * answers "may use a larger time span"; bench, 5 M rows: 10,000 rows ≈ 15 ms. */
export const LABEL_SAMPLE_ROWS = 10_000;
const MAX_LABEL_VALUES = 10_000;
const DEFAULT_LIMIT = 100;

export async function withLokiTx<T>(db: Connectable, fn: (c: pg.PoolClient) => Promise<T>, timeoutMs = LOKI_QUERY_TIMEOUT_MS): Promise<T> {
  const c = await db.connect();
  try {
    // One round trip for both (a parameterless text query may hold several statements): at load average 15-20
    // every round trip of a label answer's four was several ms.
    await c.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`);
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw mapPgError(err, timeoutMs);
  } finally {
    c.release();
  }
}

/** PostgreSQL errors a query can cause: a bad regex is the client's (400), a timeout is reported as such. */
export function mapPgError(err: unknown, timeoutMs: number): unknown {
  // Other data exceptions (2201X, 22P02) cannot happen for our casts (logql_num checks first).
  if (hasSqlState(err, 'invalidRegularExpression')) return new LokiError(400, 'bad_logql', `invalid regular expression: ${(err as Error).message.replace(/^invalid regular expression: /, '')}`);
  if (hasSqlState(err, 'queryCanceled')) {
    return new HttpError(503, 'query_timeout', `the query ran for over ${timeoutMs / 1000} s and was cancelled: narrow the time range or the selector, or simplify the regular expression`, undefined, { 'Retry-After': '10' });
  }
  return err;
}

function statsBlock(s: ExecStats, started: number, entries: number) {
  const execTime = (performance.now() - started) / 1000;
  const zeroStore = { totalChunksRef: 0, totalChunksDownloaded: 0, chunksDownloadTime: 0, chunk: { headChunkBytes: 0, headChunkLines: 0, decompressedBytes: s.bytes, decompressedLines: s.lines, compressedBytes: 0, totalDuplicates: 0 } };
  return {
    summary: {
      bytesProcessedPerSecond: execTime > 0 ? Math.round(s.bytes / execTime) : 0,
      linesProcessedPerSecond: execTime > 0 ? Math.round(s.lines / execTime) : 0,
      totalBytesProcessed: s.bytes,
      totalLinesProcessed: s.lines,
      execTime,
      queueTime: 0,
      subqueries: 0,
      totalEntriesReturned: entries,
      splits: 0,
      shards: 0,
      totalPostFilterLines: s.lines,
      totalStructuredMetadataBytesProcessed: 0,
    },
    querier: { store: zeroStore },
    ingester: { totalReached: 0, totalChunksMatched: 0, totalBatches: 0, totalLinesSent: 0, store: zeroStore },
  };
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64) for the values Loki prints; NaN and infinities as Prometheus writes them. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return String(v);
}

const seconds = (ms: number) => ms / 1000;

function logQuerySelect(p: URLSearchParams, start: bigint, end: bigint) {
  const interval = parseDurationParam('interval', p.get('interval'));
  return {
    start,
    end,
    limit: parseLimit(p.get('limit'), DEFAULT_LIMIT, MAX_ENTRIES),
    direction: parseDirection(p.get('direction')),
    intervalNs: interval !== undefined ? BigInt(interval) * 1_000_000n : undefined,
  };
}

/** GET|POST /loki/api/v1/query_range */
export async function queryRange(db: Connectable, p: URLSearchParams): Promise<unknown> {
  const query = parseQueryText(p.get('query'));
  const { start, end } = timeRange(p, HOUR_NS);
  // Parsed for log queries too (where Loki ignores it), so that a bad step is a 400 whatever the query.
  const step = parseDurationParam('step', p.get('step'));
  const started = performance.now();
  const stats: ExecStats = { lines: 0, bytes: 0 };
  if (isLogQuery(query)) {
    const sel = logQuerySelect(p, start, end);
    const { streams, entries, cut } = await withLokiTx(db, (c) => runLogQuery(c, query, sel, stats));
    return { status: 'success', data: { resultType: 'streams', result: streams, stats: statsBlock(stats, started, entries) }, ...cutWarning(cut) };
  }
  const startMs = Number(start / 1_000_000n);
  const endMs = Number(end / 1_000_000n);
  const stepMs = step ?? Math.max(Math.floor((endMs - startMs) / 1000 / 250), 1) * 1000;
  // Evaluation times are multiples of the step (Loki with align_queries_with_step): the same request always gets the
  // same points, and minute steps line up with the rollups.
  const first = Math.floor(startMs / stepMs) * stepMs;
  const last = Math.floor(endMs / stepMs) * stepMs;
  const points = (last - first) / stepMs + 1;
  if (points > MAX_POINTS) throw lokiBadRequest(`exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)`);
  const result = await withLokiTx(db, (c) => evalMetric(c, query, { startMs: first, stepMs, points }, stats));
  return { status: 'success', data: { resultType: result.scalar ? 'scalar' : 'matrix', result: matrix(result, first, stepMs), stats: statsBlock(stats, started, 0) } };
}

function matrix(r: MetricResult, first: number, stepMs: number) {
  if (r.scalar) return r.series[0]!.values.map((v, i) => [seconds(first + i * stepMs), formatValue(v!)]);
  return r.series.map((s) => ({
    metric: s.metric,
    values: s.values.flatMap((v, i) => (v === undefined ? [] : [[seconds(first + i * stepMs), formatValue(v)]])),
  }));
}

/** Loki's `warnings` (shown by Grafana) when an answer stopped at LOG_QUERY_MAX_BYTES before `limit` entries. */
function cutWarning(cut: boolean): { warnings?: string[] } {
  if (!cut) return {};
  return { warnings: [`the answer stopped at ${LOG_QUERY_MAX_BYTES / 1024 / 1024} MiB of log lines before reaching the limit: narrow the time range or query the next lines from the last timestamp`] };
}

/** GET|POST /loki/api/v1/query (instant): a vector (or scalar) at `time`; a log query returns streams up to it. */
export async function queryInstant(db: Connectable, p: URLSearchParams): Promise<unknown> {
  const query = parseQueryText(p.get('query'));
  const time = parseTimeNs('time', p.get('time'), nowNs());
  const started = performance.now();
  const stats: ExecStats = { lines: 0, bytes: 0 };
  if (isLogQuery(query)) {
    const sel = logQuerySelect(p, time - HOUR_NS, time + 1n);
    const { streams, entries, cut } = await withLokiTx(db, (c) => runLogQuery(c, query, sel, stats));
    return { status: 'success', data: { resultType: 'streams', result: streams, stats: statsBlock(stats, started, entries) }, ...cutWarning(cut) };
  }
  const ms = Number(time / 1_000_000n);
  const r = await withLokiTx(db, (c) => evalMetric(c, query, { startMs: ms, stepMs: 0, points: 1 }, stats));
  const result = r.scalar
    ? [seconds(ms), formatValue(r.series[0]!.values[0]!)]
    : r.series.filter((s) => s.values[0] !== undefined).map((s) => ({ metric: s.metric, value: [seconds(ms), formatValue(s.values[0]!)] }));
  return { status: 'success', data: { resultType: r.scalar ? 'scalar' : 'vector', result, stats: statsBlock(stats, started, 0) } };
}

/** A `query` / `match[]` parameter that must be a stream selector (with optional pipeline). */
function selectorParam(raw: string | null, name: string): LogQuery | undefined {
  if (raw === null || raw.trim() === '') return undefined;
  const q: Query = parseQueryText(raw);
  if (!isLogQuery(q)) throw lokiBadRequest(`${name} must be a log stream selector such as {service="api"}, not a metric query`);
  return q;
}

const SIX_HOURS_NS = 6n * HOUR_NS;

/** The rows of a window matching an optional selector, from logs and packed batches (sourceSql), as a FROM item. */
function windowSource(sql: Sql, q: LogQuery | undefined, start: bigint, end: bigint, newest?: number): string {
  const w = windowSql(sql, start, end);
  const source = sourceSql(sql, q, w.where, w.bounds, newest === undefined ? undefined : { order: 'DESC', limit: String(newest), by: 'timestamp' });
  return q ? fromSql(q, source) : source;
}

/** Newest `rows` rows of the window (matching q), as a subquery with the given columns. */
function sampleSql(sql: Sql, q: LogQuery | undefined, start: bigint, end: bigint, columns: string, rows = LABEL_SAMPLE_ROWS): string {
  return `SELECT ${columns} FROM ${windowSource(sql, q, start, end, rows)} ORDER BY "timestamp" DESC LIMIT ${rows}`;
}

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Label answers per pool (answer-cache.ts): a pool is one database. */
const caches = new WeakMap<Connectable, AnswerCache<unknown>>();
function cacheOf(db: Connectable): AnswerCache<unknown> {
  let c = caches.get(db);
  if (!c) caches.set(db, (c = new AnswerCache()));
  return c;
}

/** GET /loki/api/v1/labels: service, level and the attribute names of the window (from its newest rows). */
export async function labelNames(db: Connectable, p: URLSearchParams): Promise<unknown> {
  const { start, end } = roundedWindow(timeRange(p, SIX_HOURS_NS));
  const q = selectorParam(p.get('query'), 'query');
  return cacheOf(db).get(`labels\n${p.get('query') ?? ''}\n${start}\n${end}`, () => labelNamesOf(db, q, start, end));
}

async function labelNamesOf(db: Connectable, q: LogQuery | undefined, start: bigint, end: bigint): Promise<unknown> {
  // Every key of the sample's rows, and NULL when it has any row (one without attributes yields no key): an empty
  // answer means no row at all. The keys from a set-returning call in the select list, not a LATERAL join per row:
  // bench table, 10,000 rows and 30,000 keys, 53 → 38 ms median (interleaved runs, load average ~15).
  const keys = await withLokiTx(db, (c) =>
    basesOf(db).values(`labels\n${JSON.stringify(q ?? null)}`, start, end, async (from, to) => {
      const r = await readSample(c, q, from, to, 'attributes', 'SELECT DISTINCT jsonb_object_keys(attributes) AS v FROM s');
      return r.rows > 0 ? { ...r, values: [...r.values, null] } : r;
    }),
  );
  if (keys.size === 0) return { status: 'success', data: [] };
  const names = new Set<string>(['level', 'service']);
  for (const k of keys) if (k !== null && LABEL_NAME.test(k)) names.add(k);
  return { status: 'success', data: [...names].sort() };
}

/** Samples kept per pool for windows that move on (sample-reuse.ts). */
const sampleBases = new WeakMap<Connectable, SampleBases>();
function basesOf(db: Connectable): SampleBases {
  let b = sampleBases.get(db);
  if (!b) sampleBases.set(db, (b = new SampleBases(LABEL_SAMPLE_ROWS)));
  return b;
}

/** One sample of [from, to): the distinct values `valuesSql` reads from it (`s`, with `columns`), its rows and its oldest row. */
async function readSample(c: pg.PoolClient, q: LogQuery | undefined, from: bigint, to: bigint, columns: string, valuesSql: string): Promise<SampleRead> {
  const sql = new Sql();
  const { rows } = await c.query<{ rows: number; oldest_us: string | null; vals: (string | null)[] }>(
    `WITH s AS MATERIALIZED (${sampleSql(sql, q, from, to, `"timestamp" AS ts, ${columns}`)})
     SELECT (SELECT count(*)::int FROM s) AS rows, (SELECT (extract(epoch FROM min(ts)) * 1000000)::bigint::text FROM s) AS oldest_us,
            coalesce((SELECT json_agg(v) FROM (${valuesSql}) x), '[]') AS vals`,
    sql.values,
  );
  const r = rows[0]!;
  return { values: r.vals, rows: r.rows, oldestUs: r.oldest_us === null ? null : BigInt(r.oldest_us) };
}

/** Window rounded out to whole minutes (or hours past `hourlyFromMs`, a day by default), for the rollups. */
function rollupWindow(start: bigint, end: bigint, hourlyFromMs = 24 * 3600_000): { table: string; col: string; from: Date; to: Date } {
  const s = Number(start / 1_000_000n);
  const e = Number((end + 999_999n) / 1_000_000n);
  const hourly = e - s > hourlyFromMs;
  const unit = hourly ? 3600_000 : 60_000;
  return { table: hourly ? 'logs_per_hour' : 'logs_per_minute', col: hourly ? 'hour' : 'minute', from: new Date(Math.floor(s / unit) * unit), to: new Date(Math.ceil(e / unit) * unit) };
}

/** GET /loki/api/v1/label/<name>/values */
export async function labelValues(db: Connectable, name: string, p: URLSearchParams): Promise<unknown> {
  if (!LABEL_NAME.test(name)) throw lokiBadRequest(`invalid label name ${JSON.stringify(name.slice(0, 80))}`);
  const { start, end } = roundedWindow(timeRange(p, SIX_HOURS_NS));
  const q = selectorParam(p.get('query'), 'query');
  return cacheOf(db).get(`values\n${name}\n${p.get('query') ?? ''}\n${start}\n${end}`, () => labelValuesOf(db, name, q, start, end));
}

async function labelValuesOf(db: Connectable, name: string, q: LogQuery | undefined, start: bigint, end: bigint): Promise<unknown> {
  const values = await withLokiTx(db, async (c) => {
    if ((name === 'service' || name === 'level') && (!q || rollupEligible(q, []))) {
      const sql = new Sql();
      // From the rollups: every value of the window, whatever its size, rounded out to whole minutes, or to whole
      // hours past 6 h (at most 2 h more on 6: Loki's label answers "may use a larger time span"): a 24 h window
      // read 1,440 × levels × services minute rows, 87 ms p95 in the bench, a 24th of that by the hour.
      const w = rollupWindow(start, end, 6 * 3600_000);
      const where = [`${w.col} >= ${sql.param(w.from.toISOString())}::timestamptz`, `${w.col} < ${sql.param(w.to.toISOString())}::timestamptz`, 'n > 0', ...(q ? whereSql(sql, q) : [])];
      const text = `SELECT DISTINCT ${labelSql(name, [])} AS v FROM ${w.table} WHERE ${where.join(' AND ')}`;
      return (await c.query<{ v: string | null }>(`${text} ORDER BY 1 LIMIT ${MAX_LABEL_VALUES}`, sql.values)).rows.map((r) => r.v);
    }
    const parsers = q ? parsersOf(q) : [];
    const found = await basesOf(db).values(`values\n${name}\n${JSON.stringify(q ?? null)}`, start, end, (from, to) =>
      readSample(c, q, from, to, `${labelSql(name, parsers)} AS v`, 'SELECT DISTINCT v FROM s WHERE v IS NOT NULL'),
    );
    return [...found].sort().slice(0, MAX_LABEL_VALUES);
  });
  return { status: 'success', data: values.filter((v): v is string => v !== null && v !== '') };
}

/** GET|POST /loki/api/v1/series: the label sets of the newest rows matching any `match[]`. */
export async function series(db: Connectable, p: URLSearchParams): Promise<unknown> {
  const matches = p.getAll('match[]').concat(p.getAll('match'));
  if (matches.length === 0) throw lokiBadRequest('at least one match[] selector is required, such as match[]={service="api"}');
  const { start, end } = timeRange(p, SIX_HOURS_NS);
  const selectors = matches.map((m) => selectorParam(m, 'match[]')!);
  const rows = await withLokiTx(db, async (c) => {
    const out: { service: string; level: number; attributes: Record<string, unknown> }[] = [];
    for (const q of selectors) {
      const sql = new Sql();
      const r = await c.query(`SELECT DISTINCT service, level, attributes FROM (${sampleSql(sql, q, start, end, 'service, level, attributes')}) s`, sql.values);
      out.push(...r.rows);
    }
    return out;
  });
  const seen = new Map<string, Labels>();
  for (const r of rows) {
    const l = rowLabels(r, new Set());
    seen.set(labelsKey(l), l);
  }
  return { status: 'success', data: [...seen.values()] };
}

/** GET|POST /loki/api/v1/index/stats: streams (service × level), entries and bytes of a selector in a window. */
export async function indexStats(db: Connectable, p: URLSearchParams): Promise<unknown> {
  const { start, end } = timeRange(p, HOUR_NS);
  const q = selectorParam(p.get('query'), 'query');
  return withLokiTx(db, async (c) => {
    if (!q || rollupEligible(q, [])) {
      // From the rollups (whole minutes), bytes estimated from the newest rows' average: Loki's own figure is an
      // estimate too ("a probabilistic technique").
      const sql = new Sql();
      const w = rollupWindow(start, end);
      const where = [`${w.col} >= ${sql.param(w.from.toISOString())}::timestamptz`, `${w.col} < ${sql.param(w.to.toISOString())}::timestamptz`, 'n > 0', ...(q ? whereSql(sql, q) : [])];
      const counted = await c.query<{ streams: number; entries: string }>(`SELECT count(DISTINCT (service, level))::int AS streams, coalesce(sum(n), 0)::text AS entries FROM ${w.table} WHERE ${where.join(' AND ')}`, sql.values);
      const sample = new Sql();
      const avg = await c.query<{ b: number | null }>(`SELECT avg(octet_length(message))::float8 AS b FROM (${sampleSql(sample, q, start, end, 'message', 1000)}) s`, sample.values);
      const entries = Number(counted.rows[0]!.entries);
      const streams = counted.rows[0]!.streams;
      return { streams, chunks: streams, entries, bytes: Math.round(entries * (avg.rows[0]!.b ?? 0)) };
    }
    const sql = new Sql();
    const r = await c.query<{ streams: number; entries: string; bytes: string }>(
      `SELECT count(DISTINCT (service, level))::int AS streams, count(*)::text AS entries, coalesce(sum(octet_length(message)), 0)::text AS bytes FROM ${windowSource(sql, q, start, end)}`,
      sql.values,
    );
    const row = r.rows[0]!;
    return { streams: row.streams, chunks: row.streams, entries: Number(row.entries), bytes: Number(row.bytes) };
  });
}

/** GET /loki/api/v1/status/buildinfo: the Loki version whose API this follows (Grafana reads it for features). */
export const BUILD_INFO = { version: '2.9.0', revision: 'logstream', branch: 'main', buildUser: 'logstream', buildDate: '', goVersion: '' };
