// `npm run bench -- --compare <older.json>`: two runs' ratios side by side, matched by scenario and key, with a
// verdict per ratio; and the command itself on two result files.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareRuns, compareTableLines } from '../bench/lib/compare.js';
import { ratioRow, type RunResult, type ScenarioResult } from '../bench/lib/results.js';

function scenario(name: string, ratios: ScenarioResult['ratios']): ScenarioResult {
  return { name, date: '2026-12-01T09:00:00.000Z', commit: 'abc', quick: false, seconds: 1, loadavg: 0.1, repetitions: 3, ratios, rows: [], figures: {} };
}
const latencyRow = (values: number[]) =>
  ratioRow({
    key: 'p99-vs-hops',
    metric: 'send→receive p99 ÷ sum of the bare hops',
    better: 'lower',
    figure: { name: 'p99', unit: 'ms', values },
    baseline: { name: 'hops', unit: 'ms', values: values.map(() => 1) },
  });
const ingestRow = (values: number[]) =>
  ratioRow({
    key: 'stored-vs-pg-ceiling',
    metric: 'stored ÷ ceiling',
    better: 'higher',
    figure: { name: 'stored', unit: '/s', values },
    baseline: { name: 'ceiling', unit: '/s', values: values.map(() => 100) },
  });
function run(scenarios: ScenarioResult[]): RunResult {
  return {
    date: '2026-12-01T09:00:00.000Z',
    git: { commit: 'abc', branch: 'b', dirty: false },
    quick: false,
    machine: { cpu: 'test cpu', cores: 2, memoryGb: 1, os: 'Linux', loadavgStart: 0.1 },
    versions: { node: 'v20', redis: '7', postgres: '15' },
    scenarios: Object.fromEntries(scenarios.map((s) => [s.name, s])),
  };
}

describe('bench --compare', () => {
  const older = run([scenario('ingest', [ingestRow([50, 55, 60])]), scenario('latency', [latencyRow([3, 3.2, 3.4])]), scenario('gone', [latencyRow([1, 1, 1])])]);
  const newer = run([scenario('ingest', [ingestRow([30, 32, 35])]), scenario('latency', [latencyRow([3.1, 3.3, 3.5])]), scenario('new', [latencyRow([2, 2, 2])])]);

  it('matches ratios by scenario and key and judges each one', () => {
    const lines = compareRuns(older, newer);
    const by = (scenario: string) => lines.find((l) => l.scenario === scenario)!;
    expect(by('ingest').verdict).toBe('worse'); // 0.55× → 0.32×, higher is better
    expect(by('latency').verdict).toBe('same');
    expect(by('new')).toMatchObject({ verdict: null, older: undefined });
    expect(by('gone')).toMatchObject({ verdict: null, newer: undefined });
    expect(lines.map((l) => l.scenario)).toEqual(['ingest', 'latency', 'new', 'gone']);
    const table = compareTableLines(lines, 'older', 'newer').join('\n');
    expect(table).toMatch(/ingest\s+stored ÷ ceiling\s+0\.55× \(0\.5×–0\.6×\)\s+0\.32× \(0\.3×–0\.35×\)\s+-42%\s+WORSE/);
    expect(table).toMatch(/latency .*within spread/);
  });

  it('reads the ratios a run from before issue 17 kept in its rows', () => {
    const legacy = run([{ ...scenario('ingest', undefined), rows: [{ metric: 'events/s stored (2 processors)', value: 49_714, unit: '/s', ratio: 0.57 } as never] }]);
    delete legacy.scenarios.ingest!.ratios;
    const [line] = compareRuns(legacy, newer).filter((l) => l.scenario === 'ingest');
    expect(line!.older?.ratio?.median).toBe(0.57);
    expect(line!.verdict).toBe('worse'); // 0.57 (one run) → 0.32× (0.30–0.35)
  });

  it('prints the comparison of two result files from the command line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-compare-'));
    writeFileSync(join(dir, 'old.json'), JSON.stringify(older));
    writeFileSync(join(dir, 'new.json'), JSON.stringify(newer));
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--compare', join(dir, 'old.json'), join(dir, 'new.json')], { encoding: 'utf8' });
    expect(out).toMatch(/ingest .*WORSE/);
    expect(out).toContain('1 ratio(s) worse');
  });
});
