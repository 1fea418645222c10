// Answers of the label endpoints kept for a few seconds (issue 16: labels and label values p95 ≤ 50 ms on 5 M rows).
// Grafana asks for labels and values every time a query editor opens or a selector changes, with the picker's
// window ending "now", and each answer reads the newest LABEL_SAMPLE_ROWS rows of the window: 10,000 rows and 30,000
// jsonb keys, 125 ms (EXPLAIN ANALYZE, bench machine under load) for a list that changes rarely. So the window is
// rounded out to LABEL_CACHE_MS (Loki: the label endpoints "may use a larger time span") and the answer of a rounded
// window is kept that long: a new label shows up at most LABEL_CACHE_MS late. Identical requests meanwhile share
// the one query in flight. A failed query is not kept.

/** How long a label answer is kept, and the step its window is rounded out to. */
export const LABEL_CACHE_MS = 10_000;
/** Entries kept per pool (oldest dropped first): distinct windows × selectors × label names in 10 s. */
const MAX_ENTRIES = 1_000;

export class AnswerCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs = LABEL_CACHE_MS,
    private readonly maxEntries = MAX_ENTRIES,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && t - hit.at < this.ttlMs) return hit.value;
    const value = compute();
    const entry = { at: t, value };
    this.entries.delete(key);
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
    return value;
  }
}

const STEP_NS = BigInt(LABEL_CACHE_MS) * 1_000_000n;

/** [start, end) rounded out to whole LABEL_CACHE_MS steps. */
export function roundedWindow({ start, end }: { start: bigint; end: bigint }): { start: bigint; end: bigint } {
  const s = start - (((start % STEP_NS) + STEP_NS) % STEP_NS);
  const r = ((end % STEP_NS) + STEP_NS) % STEP_NS;
  return { start: s, end: r === 0n ? end : end - r + STEP_NS };
}
