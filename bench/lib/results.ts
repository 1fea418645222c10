// Bench results: rows (figure, target, ceiling ratio, pass/miss), the printed table, and the JSON files
// (bench/results/latest.json, which the README section is generated from, and a dated copy per run).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GitInfo, Machine, Versions } from './machine.js';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
export const LATEST = `${RESULTS_DIR}latest.json`;

export interface Row {
  metric: string;
  value: number | string | null;
  unit: string;
  /** Human-readable target, e.g. "≤ 50 ms"; absent for figures reported without one. */
  target?: string;
  /** The ceiling this figure is compared with, and value / ceiling. */
  ceiling?: { name: string; value: number };
  ratio?: number;
  /** true = met, false = missed, null = no target or not measurable. */
  pass?: boolean | null;
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
  rows: Row[];
  /** Everything measured, for whoever wants more than the table. */
  figures: Record<string, unknown>;
  error?: string;
}

export interface Ceilings {
  rows: number;
  pgInsertPerSec: number;
  pgInsert1kPerSec: number;
  xaddPerSec: number;
}

export interface RunResult {
  date: string;
  git: GitInfo;
  quick: boolean;
  machine: Machine;
  versions: Versions;
  ceilings: Ceilings;
  scenarios: Record<string, ScenarioResult>;
}

export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

function fmt(v: number | string | null, unit: string): string {
  if (v === null) return 'n/a';
  if (typeof v === 'string') return v;
  const n = Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en') : String(round(v, Math.abs(v) < 10 ? 2 : 1));
  return unit ? `${n} ${unit}` : n;
}

export function tableLines(run: Pick<RunResult, 'scenarios'>, markdown = false): string[] {
  const header = ['scenario', 'figure', 'value', 'target', 'vs ceiling', 'result'];
  const body: string[][] = [];
  for (const s of Object.values(run.scenarios)) {
    if (s.error) body.push([s.name, 'error', s.error.slice(0, 80), '', '', 'error']);
    for (const r of s.rows) {
      const ratio = r.ratio !== undefined && r.ceiling ? `${round(r.ratio * 100, 0)}% of ${fmt(r.ceiling.value, r.unit)} (${r.ceiling.name})` : '';
      const result = r.pass === true ? 'pass' : r.pass === false ? 'MISS' : '';
      body.push([s.name + (s.quick ? ' (quick)' : ''), r.metric, fmt(r.value, r.unit), r.target ?? '', ratio, result]);
    }
  }
  if (markdown) {
    const esc = (c: string) => c.replace(/\|/g, '\\|');
    return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.map(esc).join(' | ')} |`)];
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
}

export function readLatest(): RunResult | undefined {
  if (!existsSync(LATEST)) return undefined;
  try {
    return JSON.parse(readFileSync(LATEST, 'utf8')) as RunResult;
  } catch {
    return undefined;
  }
}

/**
 * The dated copy holds this run only; latest.json is this run merged over the previous latest, scenario by
 * scenario, so that `npm run bench -- fanout` refreshes the fanout rows and keeps the others (each scenario
 * carries its own date, commit and quick flag).
 */
export function writeResults(run: RunResult): { dated: string; latest: string } {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const dated = `${RESULTS_DIR}${run.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`;
  writeFileSync(dated, JSON.stringify(run, null, 2) + '\n');
  const prev = readLatest();
  const merged: RunResult = { ...run, scenarios: { ...(prev?.scenarios ?? {}), ...run.scenarios } };
  // Keep the scenarios in the bench's order, whatever order the runs came in.
  const order = ['ingest', 'latency', 'fanout', 'scale', 'stats', 'soak'];
  merged.scenarios = Object.fromEntries(Object.entries(merged.scenarios).sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)));
  writeFileSync(LATEST, JSON.stringify(merged, null, 2) + '\n');
  return { dated, latest: LATEST };
}
