// `npm run bench -- --compare <older.json> [<newer.json>]`: each ratio of two runs side by side (the newer run
// defaults to bench/results/latest.json), flagging a ratio that got worse by more than the runs' own spread.
import type { RatioRow, RunResult, ScenarioResult } from './results.js';
import { fmtSpread } from './results.js';
import { compareSpreads, type Verdict } from './stats.js';

export interface CompareLine {
  scenario: string;
  key: string;
  metric: string;
  older: RatioRow | undefined;
  newer: RatioRow | undefined;
  /** null when one side has no such ratio (or nothing measured): nothing to compare. */
  verdict: Verdict | null;
}

/** Keys of the ratios that runs before issue 17 kept in their rows (figure ÷ a ceiling of the same run). */
const LEGACY_KEYS: Record<string, string> = {
  'events/s stored (2 processors)': 'stored-vs-pg-ceiling',
  'events/s accepted by the producer': 'accepted-vs-xadd',
  'events/s stored, 1 processor': 'stored-vs-pg-ceiling-1',
  'events/s stored, 2 processors': 'stored-vs-pg-ceiling-2',
  'events/s stored, 4 processors': 'stored-vs-pg-ceiling-4',
};

/** A scenario's ratios; for an older run, the few ratios its rows carried, as one-run spreads. */
export function ratiosOf(s: ScenarioResult | undefined): RatioRow[] {
  if (!s) return [];
  if (s.ratios) return s.ratios;
  const legacy = s.rows as (ScenarioResult['rows'][number] & { ratio?: number })[];
  return legacy
    .filter((r) => typeof r.ratio === 'number' && LEGACY_KEYS[r.metric])
    .map((r) => {
      const one = { median: r.ratio!, min: r.ratio!, max: r.ratio!, values: [r.ratio!] };
      return { key: LEGACY_KEYS[r.metric]!, metric: r.metric, ratio: one, better: 'higher', pass: null, figure: { name: r.metric, unit: r.unit, spread: null }, baseline: { name: '', unit: '', spread: null } };
    });
}

/** Every ratio present in either run, in the newer run's order, then the ones only the older run has. */
export function compareRuns(older: Pick<RunResult, 'scenarios'>, newer: Pick<RunResult, 'scenarios'>): CompareLine[] {
  const lines: CompareLine[] = [];
  const seen = new Set<string>();
  const add = (scenario: string, key: string) => {
    const id = `${scenario}\u0000${key}`;
    if (seen.has(id)) return;
    seen.add(id);
    const find = (run: Pick<RunResult, 'scenarios'>) => ratiosOf(run.scenarios[scenario]).find((r) => r.key === key);
    const o = find(older);
    const n = find(newer);
    const verdict = o?.ratio && n?.ratio ? compareSpreads(o.ratio, n.ratio, n.better) : null;
    lines.push({ scenario, key, metric: (n ?? o)!.metric, older: o, newer: n, verdict });
  };
  for (const run of [newer, older]) for (const [name, s] of Object.entries(run.scenarios)) for (const r of ratiosOf(s)) add(name, r.key);
  return lines;
}

export function compareTableLines(lines: readonly CompareLine[], olderLabel: string, newerLabel: string): string[] {
  const header = ['scenario', 'ratio', olderLabel, newerLabel, 'change', 'verdict'];
  const body = lines.map((l) => {
    const o = l.older?.ratio;
    const n = l.newer?.ratio;
    const change = o && n && o.median !== 0 ? `${n.median >= o.median ? '+' : ''}${Math.round((n.median / o.median - 1) * 100)}%` : '';
    const verdict = l.verdict === 'worse' ? 'WORSE' : l.verdict === 'better' ? 'better' : l.verdict === 'same' ? 'within spread' : 'not in both';
    return [l.scenario, l.metric, l.older ? fmtSpread(o ?? null, '', true) : '—', l.newer ? fmtSpread(n ?? null, '', true) : '—', change, verdict];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
}
