// Label names and values of a window that moved on (issue 16: labels and label values p95 ≤ 50 ms, uncached).
// They come from the window's newest LABEL_SAMPLE_ROWS rows; Grafana asks again every few seconds with "now" moved
// on, and each new window's sample is mostly the last one's. So the last sample of a query (its values, its oldest
// row) is kept: a window that starts at or before that oldest row and ends at or after the last one reads only the
// rows stored in between (newest first, as many as a sample) and adds their values. The answer may then hold a value
// of a row a fresh sample would have just left out, as Loki's own label answers "may use a larger time span"; a
// sample is read afresh once it is BASE_MAX_AGE_MS old, or when the rows in between fill a sample by themselves.

/** What one sample read returns: the distinct values of its rows, how many rows, and the oldest row's µs. */
export interface SampleRead {
  values: (string | null)[];
  rows: number;
  oldestUs: bigint | null;
}

interface Base {
  start: bigint;
  end: bigint;
  values: Set<string | null>;
  oldestUs: bigint | null;
  at: number;
}

/** A reused sample is read afresh after this long. */
export const BASE_MAX_AGE_MS = 60_000;
const MAX_BASES = 1_000;

export class SampleBases {
  private readonly bases = new Map<string, Base>();

  constructor(
    private readonly sampleRows: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The values of the sample of [start, end) for `key` (query and label), reading `read(from, to)` for what is new. */
  async values(key: string, start: bigint, end: bigint, read: (from: bigint, to: bigint) => Promise<SampleRead>): Promise<Set<string | null>> {
    const t = this.now();
    const base = this.bases.get(key);
    if (base && t - base.at < BASE_MAX_AGE_MS && base.oldestUs !== null && start <= base.oldestUs * 1000n && end >= base.end && start >= base.start) {
      const d = await read(base.end, end);
      if (d.rows < this.sampleRows) {
        const values = new Set(base.values);
        for (const v of d.values) values.add(v);
        this.keep(key, { start, end, values, oldestUs: base.oldestUs, at: base.at });
        return values;
      }
      // The new rows are a whole sample by themselves.
      return this.fresh(key, start, end, d, t);
    }
    return this.fresh(key, start, end, await read(start, end), t);
  }

  private fresh(key: string, start: bigint, end: bigint, r: SampleRead, at: number): Set<string | null> {
    const values = new Set(r.values);
    // A sample with fewer rows than a whole one holds every row of its window: still a base, from its oldest row.
    this.keep(key, { start, end, values, oldestUs: r.oldestUs, at });
    return values;
  }

  private keep(key: string, b: Base): void {
    this.bases.delete(key);
    if (this.bases.size >= MAX_BASES) this.bases.delete(this.bases.keys().next().value!);
    this.bases.set(key, b);
  }
}
