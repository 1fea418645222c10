// Label samples of a window that moved on (issue 16, labels p95 uncached): only the rows stored since the last
// sample are read, and only while that sample still lies within the new window and is young enough.
import { describe, expect, it } from 'vitest';
import { BASE_MAX_AGE_MS, SampleBases, type SampleRead } from '../src/loki/sample-reuse.js';

const S = 1_000_000_000n; // one second in ns

/** Rows at whole seconds (ns) with one value each; a read returns the newest `n` of [from, to). */
function table(rows: [bigint, string][], n: number) {
  const reads: [bigint, bigint][] = [];
  const read = async (from: bigint, to: bigint): Promise<SampleRead> => {
    reads.push([from, to]);
    const inWindow = rows.filter(([t]) => t >= from && t < to).sort((a, b) => (b[0] > a[0] ? 1 : -1)).slice(0, n);
    return { values: [...new Set(inWindow.map(([, v]) => v))], rows: inWindow.length, oldestUs: inWindow.length ? inWindow[inWindow.length - 1]![0] / 1000n : null };
  };
  return { rows, reads, read };
}

describe('SampleBases', () => {
  it('reads only the rows after the last sample when the window moved on, and adds their values', async () => {
    let now = 0;
    const bases = new SampleBases(3, () => now);
    const t = table([[10n * S, 'a'], [20n * S, 'b'], [30n * S, 'c'], [40n * S, 'd']], 3);
    expect([...(await bases.values('k', 0n, 35n * S, t.read))].sort()).toEqual(['a', 'b', 'c']);
    now += 10_000;
    t.rows.push([36n * S, 'e']);
    // The sample's oldest row (10 s) is still in [5 s, 45 s): only [35 s, 45 s) is read.
    expect([...(await bases.values('k', 5n * S, 45n * S, t.read))].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(t.reads[1]).toEqual([35n * S, 45n * S]);
    // Another key has its own sample.
    await bases.values('other', 5n * S, 45n * S, t.read);
    expect(t.reads[2]).toEqual([5n * S, 45n * S]);
  });

  it('reads afresh when the window starts after the sample\'s oldest row, when the sample is old, or when the new rows fill a sample', async () => {
    let now = 0;
    const bases = new SampleBases(2, () => now);
    const t = table([[10n * S, 'a'], [20n * S, 'b']], 2);
    await bases.values('k', 0n, 25n * S, t.read);
    // Starts after 10 s, the sample's oldest row: that row is no longer in the window.
    expect([...(await bases.values('k', 15n * S, 30n * S, t.read))]).toEqual(['b']);
    expect(t.reads[1]).toEqual([15n * S, 30n * S]);
    now += BASE_MAX_AGE_MS;
    await bases.values('k', 15n * S, 35n * S, t.read);
    expect(t.reads[2]).toEqual([15n * S, 35n * S]);
    // Two new rows are a whole sample: the answer is theirs alone.
    t.rows.push([36n * S, 'x'], [37n * S, 'y']);
    expect([...(await bases.values('k', 15n * S, 40n * S, t.read))].sort()).toEqual(['x', 'y']);
    expect(t.reads[3]).toEqual([35n * S, 40n * S]);
  });

  it('does not reuse an empty sample or a window that ends earlier', async () => {
    const bases = new SampleBases(5, () => 0);
    const t = table([], 5);
    await bases.values('k', 0n, 10n * S, t.read);
    await bases.values('k', 0n, 20n * S, t.read);
    expect(t.reads).toEqual([[0n, 10n * S], [0n, 20n * S]]);
    t.rows.push([5n * S, 'a']);
    await bases.values('k', 0n, 30n * S, t.read);
    await bases.values('k', 0n, 25n * S, t.read);
    expect(t.reads[3]).toEqual([0n, 25n * S]);
  });
});
