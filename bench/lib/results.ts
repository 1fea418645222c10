// Bench results (issue 17): per scenario, the headline ratios (pipeline figure ÷ a baseline measured in the same
// run, median and spread over the repetitions, with a ratio target), then the absolute figures and checks; the
// printed tables; and the JSON files (bench/results/latest.json, which the README section is generated from,
// and a dated copy per run).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GitInfo, Machine, Versions } from './machine.js';
import { meets, pairedRatios, spread, type Better, type Spread, type Target } from './stats.js';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
export const LATEST = `${RESULTS_DIR}latest.json`;

/** An absolute figure or a check (rows lost, clients connected…). */
export interface Row {
  metric: string;
  value: number | string | null;
  unit: string;
  /** Human-readable target of a check, e.g. "0 / 0"; absent for figures reported without one. */
  target?: string;
  /** true = met, false = missed, null = no target or not measurable. */
  pass?: boolean | null;
  note?: string;
}

/** One side of a ratio: what was measured, in its unit, over the repetitions. */
export interface Measure {
  name: string;
  unit: string;
  spread: Spread | null;
}

export interface RatioRow {
  /** Stable name within the scenario, for `--compare`. */
  key: string;
  /** What is divided by what, for the table. */
  metric: string;
  ratio: Spread | null;
  better: Better;
  target?: Target;
  pass: boolean | null;
  figure: Measure;
  baseline: Measure;
  note?: string;
}

export interface ScenarioResult {
  name: string;
  date: string;
  commit: string;
  quick: boolean;
  seconds: number;
  /** 1-minute load average when the scenario started: other work on the machine skews the figures. */
  loadavg: number;
  /** Share of CPU time stolen by the hypervisor during the scenario (/proc/stat). */
  steal?: number;
  /** How many times the measured part ran. */
  repetitions?: number;
  ratios?: RatioRow[];
  rows: Row[];
  /** Everything measured, for whoever wants more than the table. */
  figures: Record<string, unknown>;
  error?: string;
}

export interface RunResult {
  date: string;
  git: GitInfo;
  quick: boolean;
  machine: Machine;
  versions: Versions;
  scenarios: Record<string, ScenarioResult>;
}

export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * A ratio row from the per-repetition figures and baselines (same length, same order): the ratio of each pair,
 * then the median and spread of those ratios; pass when the median meets the target.
 */
export function ratioRow(o: {
  key: string;
  metric: string;
  better: Better;
  target?: Target;
  figure: { name: string; unit: string; values: readonly (number | null | undefined)[] };
  baseline: { name: string; unit: string; values: readonly (number | null | undefined)[] };
  note?: string;
}): RatioRow {
  const ratio = spread(pairedRatios(o.figure.values, o.baseline.values));
  return {
    key: o.key,
    metric: o.metric,
    ratio,
    better: o.better,
    target: o.target,
    pass: o.target && ratio ? meets(o.target, ratio.median) : null,
    figure: { name: o.figure.name, unit: o.figure.unit, spread: spread(o.figure.values) },
    baseline: { name: o.baseline.name, unit: o.baseline.unit, spread: spread(o.baseline.values) },
    note: o.note,
  };
}

export function fmt(v: number | string | null, unit = ''): string {
  if (v === null) return 'n/a';
  if (typeof v === 'string') return v;
  const a = Math.abs(v);
  // Three significant figures below 1 (CPU seconds per 1,000 events are ~0.001-0.05).
  const n = a >= 1000 ? Math.round(v).toLocaleString('en') : a > 0 && a < 1 ? String(Number(v.toPrecision(3))) : String(round(v, a < 10 ? 2 : 1));
  return unit ? `${n} ${unit}` : n;
}

const ratioText = (v: number) => `${round(v, v < 10 ? 2 : 1)}×`;

/** "0.43× (0.41–0.45)": the median and the min–max of the repetitions. */
export function fmtSpread(s: Spread | null, unit = '', asRatio = false): string {
  if (!s) return 'n/a';
  const one = (v: number) => (asRatio ? ratioText(v) : fmt(v));
  const range = s.values.length > 1 ? ` (${one(s.min)}–${one(s.max)})` : '';
  return `${one(s.median)}${unit && !asRatio ? ` ${unit}` : ''}${range}`;
}

const fmtTarget = (t?: Target) => (t ? `${t.op} ${ratioText(t.value)}` : '');
const result = (pass: boolean | null | undefined) => (pass === true ? 'pass' : pass === false ? 'MISS' : '');

function render(header: string[], body: string[][], markdown: boolean): string[] {
  if (markdown) {
    const esc = (c: string) => c.replace(/\|/g, '\\|');
    return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.map(esc).join(' | ')} |`)];
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
}

const label = (s: ScenarioResult) => s.name + (s.quick ? ' (quick)' : '');

/** The headline table: one ratio per row, median (min–max over the repetitions), its target and the result. */
export function ratioTableLines(run: Pick<RunResult, 'scenarios'>, markdown = false): string[] {
  const body: string[][] = [];
  for (const s of Object.values(run.scenarios)) {
    if (s.error) body.push([label(s), 'error', s.error.slice(0, 80), '', '', 'error']);
    for (const r of s.ratios ?? []) {
      body.push([label(s), r.metric, fmtSpread(r.ratio, '', true), `${s.repetitions ?? r.ratio?.values.length ?? 0}`, fmtTarget(r.target), result(r.pass)]);
    }
  }
  return render(['scenario', 'ratio', 'median (min–max)', 'runs', 'target', 'result'], body, markdown);
}

/** Absolute figures: both sides of every ratio, then the scenario's own figures and checks. */
export function figureTableLines(run: Pick<RunResult, 'scenarios'>, markdown = false): string[] {
  const body: string[][] = [];
  for (const s of Object.values(run.scenarios)) {
    const seen = new Set<string>();
    for (const r of s.ratios ?? []) {
      for (const m of [r.figure, r.baseline]) {
        if (seen.has(m.name)) continue;
        seen.add(m.name);
        body.push([label(s), m.name, fmtSpread(m.spread, m.unit), '', '']);
      }
    }
    for (const r of s.rows) body.push([label(s), r.metric, fmt(r.value, r.unit), r.target ?? '', result(r.pass)]);
  }
  return render(['scenario', 'figure', 'value: median (min–max)', 'check', 'result'], body, markdown);
}

export function readRun(file: string): RunResult {
  return JSON.parse(readFileSync(file, 'utf8')) as RunResult;
}

export function readLatest(): RunResult | undefined {
  if (!existsSync(LATEST)) return undefined;
  try {
    return readRun(LATEST);
  } catch {
    return undefined;
  }
}

/**
 * The dated copy holds this run only; latest.json is this run merged over the previous latest, scenario by
 * scenario, so that `npm run bench -- fanout` refreshes the fanout rows and keeps the others (each scenario
 * carries its own date, commit and quick flag). `order` is the registry's order of scenarios; `prev` is latest.json
 * as it was before the run (the orchestrator writes after every scenario).
 */
export function writeResults(run: RunResult, order: readonly string[], prev = readLatest()): { dated: string; latest: string } {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const dated = `${RESULTS_DIR}${run.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`;
  writeFileSync(dated, JSON.stringify(run, null, 2) + '\n');
  const merged: RunResult = { ...run, scenarios: { ...(prev?.scenarios ?? {}), ...run.scenarios } };
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  merged.scenarios = Object.fromEntries(Object.entries(merged.scenarios).sort(([a], [b]) => rank(a) - rank(b)));
  writeFileSync(LATEST, JSON.stringify(merged, null, 2) + '\n');
  return { dated, latest: LATEST };
}
