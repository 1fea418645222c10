// The bench's latency histogram: quantiles within one bucket of the exact value, and merging across processes.
import { describe, expect, it } from 'vitest';
import { Histogram } from '../bench/lib/histogram.js';

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

describe('bench histogram', () => {
  it('reports quantiles within one bucket of the exact value across its ranges', () => {
    const values = Array.from({ length: 20_000 }, (_, i) => ((i * 7919) % 20_000) / 40); // 0 … 500 ms, shuffled
    const h = new Histogram();
    for (const v of values) h.record(v);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.01, 0.5, 0.95, 0.99]) {
      const exact = exactQuantile(sorted, q);
      const got = h.quantile(q)!;
      const step = exact < 10 ? 0.01 : exact < 100 ? 0.1 : 1;
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got - exact).toBeLessThanOrEqual(step + 1e-9);
    }
    expect(h.quantile(1)).toBe(sorted[sorted.length - 1]);
    expect(h.summary().n).toBe(values.length);
  });

  it('merges histograms from several generators as if recorded in one', () => {
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    for (let i = 0; i < 1000; i++) {
      const v = (i % 97) * 3.3;
      (i % 2 ? a : b).record(v);
      all.record(v);
    }
    const merged = new Histogram();
    merged.merge(JSON.parse(JSON.stringify(a)));
    merged.merge(JSON.parse(JSON.stringify(b)));
    expect(merged.summary()).toEqual(all.summary());
  });

  it('is empty until something is recorded', () => {
    expect(new Histogram().summary()).toMatchObject({ n: 0, p50: null, p99: null, max: null });
  });
});
