// Running a parsed LogQL query against PostgreSQL: log queries become one SELECT, metric queries one GROUP BY over
// bins of the range (or one small query on the rollups), and the vector aggregations (sum, topk …) are folded in
// JS over the few series that come back.
import pg from 'pg';
import type { LogQuery, MetricExpr } from './ast.js';
import { rowLabels, labelsKey, sortLabels, type Labels, type LabelledRow } from './labels.js';
import { LogQLError } from './parse.js';
import { binnedSql, droppedLabels, logSelectSql, rollupEligible, rollupSql, type BinPlan, type LogSelect } from './to-sql.js';

/** Work done, for Loki's `stats` block. */
export interface ExecStats {
  lines: number;
  bytes: number;
}

export interface Stream {
  stream: Labels;
  values: [string, string][];
}

/** Loki's per-query cap on entries (max_entries_limit_per_query, default 5000). */
export const MAX_ENTRIES = 5000;
/** Loki's cap on points per series (11,000), and a cap on bins read (a range far longer than its step). */
export const MAX_POINTS = 11_000;
const MAX_BINS = 100_000;

interface LogRow extends LabelledRow {
  id: string;
  ns: string;
  message: string;
}

/** Timestamps (the rows' ts_order, only used to order them in SQL) left as text: parsing 1,000 Dates per answer is waste. */
const RAW_TIMESTAMPS = { getTypeParser: (oid: number, format?: string) => (oid === 1184 ? (v: string) => v : pg.types.getTypeParser(oid, format as 'text')) } as pg.CustomTypesConfig;

/** Entries of a log query, grouped into streams by label set, each stream in the query's direction. */
/** `cut`: the answer stopped at LOG_QUERY_MAX_BYTES before `limit` entries (the caller warns the client). */
export async function runLogQuery(c: pg.PoolClient, q: LogQuery, sel: LogSelect & { intervalNs?: bigint }, stats: ExecStats, maxBytes?: number): Promise<{ streams: Stream[]; entries: number; cut: boolean }> {
  const { text, values } = logSelectSql(q, sel, maxBytes);
  const { rows } = await c.query<LogRow & { source_rows: string }>({ text, values, types: RAW_TIMESTAMPS });
  const cut = rows.length > 0 && rows.length < Number(rows[0]!.source_rows);
  const dropped = droppedLabels(q);
  const streams = new Map<string, Stream>();
  let entries = 0;
  let last: bigint | undefined;
  for (const r of rows) {
    stats.lines++;
    stats.bytes += Buffer.byteLength(r.message);
    // `interval`: an entry only every interval (Loki: "does not fill missing entries").
    if (sel.intervalNs) {
      const ns = BigInt(r.ns);
      if (last !== undefined && (sel.direction === 'forward' ? ns < last + sel.intervalNs : ns > last - sel.intervalNs)) continue;
      last = ns;
    }
    const labels = rowLabels(r, dropped);
    const key = labelsKey(labels);
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { stream: labels, values: [] }));
    s.values.push([r.ns, r.message]);
    entries++;
  }
  return { streams: [...streams.values()], entries, cut };
}

/** Evaluation times of a metric query: startMs + i·stepMs for i < points. */
export interface EvalRange {
  startMs: number;
  stepMs: number;
  points: number;
}

export interface Series {
  metric: Labels;
  /** One value per evaluation time; undefined where the series has no sample. */
  values: (number | undefined)[];
}

export interface MetricResult {
  /** A bare number (resultType scalar); otherwise a vector per evaluation time. */
  scalar: boolean;
  series: Series[];
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function constant(e: MetricExpr): number {
  if (e.kind === 'literal') return e.value;
  if (e.kind !== 'binary') throw new LogQLError('not a constant', 'unsupported');
  const [a, b] = [constant(e.left), constant(e.right)];
  return e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : a / b;
}

const isScalar = (e: MetricExpr): boolean => (e.kind === 'literal' ? !e.vector : e.kind === 'binary' ? isScalar(e.left) && isScalar(e.right) : false);

export async function evalMetric(c: pg.PoolClient, e: MetricExpr, r: EvalRange, stats: ExecStats): Promise<MetricResult> {
  if (e.kind === 'literal' || e.kind === 'binary') {
    const v = constant(e);
    return { scalar: isScalar(e), series: [{ metric: {}, values: Array.from({ length: r.points }, () => v) }] };
  }
  if (e.kind === 'range') return { scalar: false, series: await evalRange(c, e, r, undefined, stats) };
  // `sum by (labels)` directly over a range function is counted grouped by those labels in SQL (and so, for service
  // and level, from the rollups); every other aggregation needs the inner series, grouped by every label.
  const pushdown = e.op === 'sum' && e.grouping?.mode === 'by' && e.inner.kind === 'range' ? e.grouping.labels : undefined;
  const inner = e.inner.kind === 'range' ? await evalRange(c, e.inner, r, pushdown, stats) : (await evalMetric(c, e.inner, r, stats)).series;
  // Counted grouped by those labels already: each series is its own group, and summing it alone is a copy.
  if (pushdown) return { scalar: false, series: inner };
  return { scalar: false, series: aggregate(e, inner, r.points) };
}

function groupLabels(g: { mode: 'by' | 'without'; labels: string[] } | undefined, l: Labels): Labels {
  if (!g) return {};
  if (g.mode === 'by') return sortLabels(Object.fromEntries(g.labels.filter((n) => Object.hasOwn(l, n)).map((n) => [n, l[n]!])));
  return Object.fromEntries(Object.entries(l).filter(([n]) => !g.labels.includes(n)));
}

function aggregate(e: Extract<MetricExpr, { kind: 'vector' }>, inner: Series[], points: number): Series[] {
  const groups = new Map<string, { metric: Labels; members: Series[] }>();
  for (const s of inner) {
    const metric = groupLabels(e.grouping, s.metric);
    const key = labelsKey(metric);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { metric, members: [] }));
    g.members.push(s);
  }
  const out: Series[] = [];
  for (const g of groups.values()) {
    if (e.op === 'topk') {
      const kept = new Map<Series, (number | undefined)[]>();
      for (let i = 0; i < points; i++) {
        const present = g.members.filter((s) => s.values[i] !== undefined).sort((a, b) => b.values[i]! - a.values[i]!);
        for (const s of present.slice(0, e.param)) {
          let v = kept.get(s);
          if (!v) kept.set(s, (v = new Array(points).fill(undefined)));
          v[i] = s.values[i];
        }
      }
      for (const [s, values] of kept) out.push({ metric: s.metric, values });
      continue;
    }
    const values: (number | undefined)[] = new Array(points).fill(undefined);
    for (let i = 0; i < points; i++) {
      const xs = g.members.map((s) => s.values[i]).filter((v): v is number => v !== undefined);
      if (xs.length === 0) continue;
      const sum = xs.reduce((a, b) => a + b, 0);
      values[i] = e.op === 'sum' ? sum : e.op === 'count' ? xs.length : e.op === 'avg' ? sum / xs.length : e.op === 'min' ? Math.min(...xs) : Math.max(...xs);
    }
    out.push({ metric: g.metric, values });
  }
  return out;
}

interface BinRow extends LabelledRow {
  j: number;
  n: number;
  bytes?: number;
  [alias: string]: unknown;
}

/** Which source counts a range query: the minute or hour rollup, or the logs table. */
export function rangeSource(e: Extract<MetricExpr, { kind: 'range' }>, plan: BinPlan): 'logs' | 'logs_per_minute' | 'logs_per_hour' {
  if (e.fn !== 'count_over_time' && e.fn !== 'rate') return 'logs';
  if (!rollupEligible(e.query, plan.groupBy)) return 'logs';
  if (plan.binMs % 3_600_000 === 0 && plan.lowMs % 3_600_000 === 0) return 'logs_per_hour';
  if (plan.binMs % 60_000 === 0 && plan.lowMs % 60_000 === 0) return 'logs_per_minute';
  return 'logs';
}

/** The last source used, for tests and the bench (which path answered). */
export let lastRangeSource: ReturnType<typeof rangeSource> = 'logs';

async function evalRange(c: pg.PoolClient, e: Extract<MetricExpr, { kind: 'range' }>, r: EvalRange, groupBy: string[] | undefined, stats: ExecStats): Promise<Series[]> {
  const dropped = droppedLabels(e.query);
  const by = groupBy?.filter((l) => !dropped.has(l));
  // Bins as wide as both the range and the step allow: each window is a whole number of bins.
  const binMs = r.points > 1 ? gcd(e.rangeMs, r.stepMs) : e.rangeMs;
  const bins = ((r.points - 1) * (r.points > 1 ? r.stepMs : 0) + e.rangeMs) / binMs;
  if (bins > MAX_BINS) {
    throw new LogQLError(`the range [${e.rangeMs / 1000}s] and step (${r.stepMs / 1000}s) make ${bins} bins to count; use a step that divides the range, or a longer step`, 'syntax');
  }
  const plan: BinPlan = { lowMs: r.startMs - e.rangeMs, binMs, bins, groupBy: by };
  const source = rangeSource(e, plan);
  lastRangeSource = source;

  const series = new Map<string, { metric: Labels; n: Float64Array; b: Float64Array }>();
  // By the grouped values as they came, first: building and sorting the labels of every row was most of the
  // gateway's own time in the 24 h log-volume query (4,323 rollup rows; CPU profile: sortLabels and its garbage).
  const byValues = new Map<string, { metric: Labels; n: Float64Array; b: Float64Array }>();
  const seriesOf = (row: BinRow) => {
    const raw = by ? JSON.stringify(by.map((_, i) => row[`g${i}`] ?? null)) : undefined;
    const known = raw !== undefined ? byValues.get(raw) : undefined;
    if (known) return known;
    const metric = by ? sortLabels(Object.fromEntries(by.map((l, i) => [l, row[`g${i}`]]).filter(([, v]) => v !== null && v !== undefined)) as Labels) : rowLabels(row, dropped);
    const key = labelsKey(metric);
    let s = series.get(key);
    if (!s) series.set(key, (s = { metric, n: new Float64Array(bins), b: new Float64Array(bins) }));
    if (raw !== undefined) byValues.set(raw, s);
    return s;
  };
  if (source === 'logs') {
    const { text, values } = binnedSql(e.query, plan);
    for (const row of (await c.query<BinRow>(text, values)).rows) {
      if (row.j < 0 || row.j >= bins) continue;
      const s = seriesOf(row);
      s.n[row.j]! += row.n;
      s.b[row.j]! += row.bytes ?? 0;
      stats.lines += row.n;
      stats.bytes += row.bytes ?? 0;
    }
  } else {
    const rolled = rollupSql(e.query, plan, source);
    for (const row of (await c.query<BinRow & { edge: number }>(rolled.text, rolled.values)).rows) {
      if (row.j < 0 || row.j > bins) continue;
      const s = seriesOf(row);
      // Rows exactly on a bin's lower edge belong to the bin below it (windows are (t − range, t]).
      if (row.j < bins) s.n[row.j]! += row.n - row.edge;
      if (row.j >= 1) s.n[row.j - 1]! += row.edge;
      stats.lines += (row.j < bins ? row.n - row.edge : 0) + (row.j >= 1 ? row.edge : 0);
    }
  }

  const perWindow = e.rangeMs / binMs;
  const stepBins = r.points > 1 ? r.stepMs / binMs : 0;
  const seconds = e.rangeMs / 1000;
  const out: Series[] = [];
  for (const s of series.values()) {
    const values: (number | undefined)[] = new Array(r.points).fill(undefined);
    // Prefix sums: a window is two lookups however many bins it spans.
    const pn = new Float64Array(bins + 1);
    const pb = new Float64Array(bins + 1);
    for (let j = 0; j < bins; j++) {
      pn[j + 1] = pn[j]! + s.n[j]!;
      pb[j + 1] = pb[j]! + s.b[j]!;
    }
    let any = false;
    for (let i = 0; i < r.points; i++) {
      const from = i * stepBins;
      const n = pn[from + perWindow]! - pn[from]!;
      const b = pb[from + perWindow]! - pb[from]!;
      if (n <= 0) continue;
      any = true;
      values[i] = e.fn === 'count_over_time' ? n : e.fn === 'rate' ? n / seconds : e.fn === 'bytes_over_time' ? b : b / seconds;
    }
    if (any) out.push({ metric: s.metric, values });
  }
  // In label order, as Prometheus and Loki return a matrix: not in the order the rows happened to come in (a rollup
  // read without GROUP BY returns them in table order).
  const keys = new Map(out.map((s) => [s, labelsKey(s.metric)]));
  return out.sort((a, b) => (keys.get(a)! < keys.get(b)! ? -1 : keys.get(a)! > keys.get(b)! ? 1 : 0));
}
