// The bench's statistics (issue 17): medians and spreads of repetitions, ratios paired per repetition, ratio
// targets, and the verdict of `--compare` (worse only beyond both runs' own spread).
import { describe, expect, it } from 'vitest';
import { figureTableLines, fmtSpread, ratioRow, ratioTableLines, type ScenarioResult } from '../bench/lib/results.js';
import { bracketed, compareSpreads, meanBy, median, meets, pairedRatios, relativeSpread, repeat, spread } from '../bench/lib/stats.js';

describe('bench statistics', () => {
  it('takes the median of odd and even counts without reordering its input', () => {
    const xs = [5, 1, 3];
    expect(median(xs)).toBe(3);
    expect(xs).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });

  it('reports median and min–max, leaving out what was not measured', () => {
    expect(spread([3, null, 1, undefined, Number.NaN, 2])).toEqual({ median: 2, min: 1, max: 3, values: [3, 1, 2] });
    expect(spread([null, undefined])).toBeNull();
    expect(relativeSpread(spread([90, 100, 110])!)).toBeCloseTo(0.2);
  });

  it('divides each figure by the baseline of its own repetition, not medians by medians', () => {
    // The machine slowed down in the second repetition: both sides moved, the ratio did not.
    // (Out of order, too: a ratio pairs the repetition's own figures.)
    const figures = [50, 25, 48];
    const baselines = [100, 50, 96];
    expect(pairedRatios([...figures].reverse(), baselines)).not.toEqual([0.5, 0.5, 0.5]);
    expect(pairedRatios(figures, baselines)).toEqual([0.5, 0.5, 0.5]);
    // A repetition missing one side, or with a zero baseline, gives no ratio.
    expect(pairedRatios([1, 2, null, 4], [2, 0, 3, 8])).toEqual([0.5, 0.5]);
    expect(() => pairedRatios([1], [1, 2])).toThrow();
  });

  it('builds a ratio row whose pass follows the median and the target direction', () => {
    const row = ratioRow({
      key: 'k',
      metric: 'm',
      better: 'higher',
      target: { op: '≥', value: 0.4 },
      figure: { name: 'stored', unit: '/s', values: [30, 45, 38] },
      baseline: { name: 'ceiling', unit: '/s', values: [100, 100, 100] },
    });
    expect(row.ratio).toMatchObject({ median: 0.38, min: 0.3, max: 0.45 });
    expect(row.pass).toBe(false);
    expect(row.figure.spread?.median).toBe(38);
    expect(fmtSpread(row.ratio, '', true)).toBe('0.38× (0.3×–0.45×)');
    expect(meets({ op: '≤', value: 1.5 }, 1.5)).toBe(true);
    expect(meets({ op: '≤', value: 1.5 }, 1.51)).toBe(false);
    const untargeted = ratioRow({ key: 'k', metric: 'm', better: 'lower', figure: { name: 'a', unit: '', values: [1] }, baseline: { name: 'b', unit: '', values: [null] } });
    expect(untargeted.ratio).toBeNull();
    expect(untargeted.pass).toBeNull();
  });

  it('alternates which side of a repetition goes first', async () => {
    const order = await repeat(4, async (i, baselineFirst) => `${i}:${baselineFirst}`);
    expect(order).toEqual(['0:true', '1:false', '2:true', '3:false']);
  });
});

describe('bench --compare verdict', () => {
  const s = (...values: number[]) => spread(values)!;

  it('calls a change within either run\'s spread the same', () => {
    expect(compareSpreads(s(1.0, 1.1, 1.2), s(1.1, 1.18, 1.3), 'lower')).toBe('same'); // new median inside the old range
    expect(compareSpreads(s(1.0, 1.1, 1.2), s(1.0, 1.3, 1.35), 'lower')).toBe('same'); // old median inside the new range
  });

  it('flags a worse ratio beyond both spreads, in the direction that is worse', () => {
    expect(compareSpreads(s(1.0, 1.1, 1.2), s(1.4, 1.5, 1.6), 'lower')).toBe('worse');
    // Without a spread (one value a run), a change below MIN_CHANGE is no change; one above it still is.
    expect(compareSpreads(s(0.998, 0.998, 0.998), s(0.995, 0.995, 0.995), 'higher')).toBe('same');
    expect(compareSpreads(s(1, 1, 1), s(0.9, 0.9, 0.9), 'higher')).toBe('worse');
    expect(compareSpreads(s(1.0, 1.1, 1.2), s(1.4, 1.5, 1.6), 'higher')).toBe('better');
    expect(compareSpreads(s(0.5, 0.55, 0.6), s(0.3, 0.32, 0.35), 'higher')).toBe('worse');
    expect(compareSpreads(s(0.5, 0.55, 0.6), s(0.3, 0.32, 0.35), 'lower')).toBe('better');
  });

  it('lets a noisy run hide a change that a quiet run would show', () => {
    const old = s(1.0, 1.1, 1.2);
    expect(compareSpreads(old, s(1.3, 1.35, 1.4), 'lower')).toBe('worse');
    expect(compareSpreads(old, s(0.9, 1.35, 2.0), 'lower')).toBe('same');
  });
});

describe('bench tables', () => {
  it('puts ratios first with their target and result, and both sides of each ratio once among the figures', () => {
    const ceiling = { name: 'ceiling rows/s', unit: '/s', values: [100, 100, 100] };
    const s: ScenarioResult = {
      name: 'ingest',
      date: '2026-12-01T09:00:00.000Z',
      commit: 'abc',
      quick: false,
      seconds: 1,
      loadavg: 0.2,
      repetitions: 3,
      ratios: [
        ratioRow({ key: 'a', metric: 'stored ÷ ceiling', better: 'higher', target: { op: '≥', value: 0.4 }, figure: { name: 'stored/s', unit: '/s', values: [30, 35, 38] }, baseline: ceiling }),
        ratioRow({ key: 'b', metric: 'accepted ÷ ceiling', better: 'higher', figure: { name: 'accepted/s', unit: '/s', values: [50, 60, 70] }, baseline: ceiling }),
      ],
      rows: [{ metric: 'lost', value: 0, unit: '', target: '0', pass: true }],
      figures: {},
    };
    const ratios = ratioTableLines({ scenarios: { ingest: s } }).join('\n');
    expect(ratios).toMatch(/ingest\s+stored ÷ ceiling\s+0\.35× \(0\.3×–0\.38×\)\s+3\s+≥ 0\.4×\s+MISS/);
    expect(ratios).toMatch(/accepted ÷ ceiling\s+0\.6× \(0\.5×–0\.7×\)\s+3\s*$/m);
    const figures = figureTableLines({ scenarios: { ingest: s } });
    expect(figures.filter((l) => l.includes('ceiling rows/s'))).toHaveLength(1);
    expect(figures.join('\n')).toMatch(/stored\/s\s+35 \/s \(30–38\)/);
    expect(figures.join('\n')).toMatch(/lost\s+0\s+0\s+pass/);
  });
});

describe('bench baselines around the measured part', () => {
  it('measures the baseline right before and right after, in that order, and averages the two', async () => {
    const order: string[] = [];
    let k = 0;
    const baseline = async () => {
      order.push('baseline');
      return { perSec: [100, 60][k++]!, nested: { cpu: k }, label: `b${k}` };
    };
    const r = await bracketed(baseline, async () => (order.push('figure'), 42), meanBy);
    expect(order).toEqual(['baseline', 'figure', 'baseline']);
    expect(r.figure).toBe(42);
    expect(r.before.perSec).toBe(100);
    expect(r.after.perSec).toBe(60);
    // A machine that slowed down during the repetition: the baseline is the middle of the two, not one side.
    expect(r.baseline).toEqual({ perSec: 80, nested: { cpu: 1.5 }, label: 'b1' });
  });

  it('averages numbers field by field and keeps what is not a number from the first', () => {
    expect(meanBy(1, 3)).toBe(2);
    expect(meanBy({ a: 1, b: { c: 2 }, d: [1] }, { a: 3, b: { c: 4 }, d: [9] })).toEqual({ a: 2, b: { c: 3 }, d: [1] });
  });
});
