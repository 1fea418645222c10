// A mergeable latency histogram (milliseconds): 10 µs steps below 10 ms, 0.1 ms below 100 ms, 1 ms below 60 s.
// Load generators in several processes record into their own and the orchestrator merges them.

const B1 = 1000; // [0, 10) ms by 0.01
const B2 = B1 + 900; // [10, 100) ms by 0.1
const B3 = B2 + 59_900; // [100, 60000) ms by 1
export type HistogramJson = { counts: [number, number][]; max: number; sum: number; n: number };

function bucket(ms: number): number {
  if (ms < 10) return Math.max(0, Math.floor(ms * 100));
  if (ms < 100) return B1 + Math.floor((ms - 10) * 10);
  if (ms < 60_000) return B2 + Math.floor(ms - 100);
  return B3;
}

function upper(b: number): number {
  if (b < B1) return (b + 1) / 100;
  if (b < B2) return 10 + (b - B1 + 1) / 10;
  if (b < B3) return 100 + (b - B2 + 1);
  return Infinity;
}

export class Histogram {
  private readonly counts = new Uint32Array(B3 + 1);
  n = 0;
  max = 0;
  sum = 0;

  record(ms: number): void {
    this.counts[bucket(ms)]!++;
    this.n++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  merge(h: HistogramJson): void {
    for (const [b, c] of h.counts) this.counts[b]! += c;
    this.n += h.n;
    this.sum += h.sum;
    this.max = Math.max(this.max, h.max);
  }

  /** Upper edge of the bucket holding the q-quantile (q in 0..1); the exact max for q = 1. */
  quantile(q: number): number | null {
    if (this.n === 0) return null;
    if (q >= 1) return this.max;
    const rank = Math.ceil(q * this.n);
    let seen = 0;
    for (let b = 0; b < this.counts.length; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return Math.min(upper(b), this.max);
    }
    return this.max;
  }

  summary(): { n: number; p50: number | null; p95: number | null; p99: number | null; max: number | null; mean: number | null } {
    const r = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
    return { n: this.n, p50: r(this.quantile(0.5)), p95: r(this.quantile(0.95)), p99: r(this.quantile(0.99)), max: r(this.n ? this.max : null), mean: r(this.n ? this.sum / this.n : null) };
  }

  toJSON(): HistogramJson {
    const counts: [number, number][] = [];
    this.counts.forEach((c, b) => {
      if (c > 0) counts.push([b, c]);
    });
    return { counts, max: this.max, sum: this.sum, n: this.n };
  }
}
