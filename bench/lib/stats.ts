// The bench's statistics (issue 17): every scenario repeats its measured part (at least 3 times) and reports
// the median with the spread (min–max of the repetitions); a headline figure is the ratio of the pipeline's
// figure to a baseline measured in the same repetition, so that a slower or busier machine moves both.

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Every repetition's value, in the order measured. */
  values: number[];
}

/** Which way a ratio improves. */
export type Better = 'lower' | 'higher';

export interface Target {
  op: '≤' | '≥';
  value: number;
}

/** The scenarios' minimum (issue 17 §5). */
export const MIN_REPETITIONS = 3;

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median and min–max of finite values; null when there are none (nothing was measured). */
export function spread(values: readonly (number | null | undefined)[]): Spread | null {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (xs.length === 0) return null;
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), values: xs };
}

/** (max − min) / median: the run's own noise, as a share of the figure. */
export function relativeSpread(s: Spread): number {
  return s.median === 0 ? 0 : (s.max - s.min) / Math.abs(s.median);
}

/**
 * figure[i] / baseline[i] for each repetition: the pair measured together shares the machine's state at that
 * moment, which a ratio of two medians (taken at different moments) would not. Pairs with a missing or zero
 * baseline are skipped.
 */
export function pairedRatios(figures: readonly (number | null | undefined)[], baselines: readonly (number | null | undefined)[]): number[] {
  if (figures.length !== baselines.length) throw new Error(`${figures.length} figures for ${baselines.length} baselines`);
  const out: number[] = [];
  figures.forEach((f, i) => {
    const b = baselines[i];
    if (typeof f === 'number' && typeof b === 'number' && Number.isFinite(f) && Number.isFinite(b) && b !== 0) out.push(f / b);
  });
  return out;
}

export function meets(target: Target, value: number): boolean {
  return target.op === '≤' ? value <= target.value : value >= target.value;
}

export type Verdict = 'worse' | 'better' | 'same';

/**
 * A change smaller than this share of the older median is 'same' whatever the spreads: a ratio that does not vary
 * between repetitions (soak's accepted ÷ asked, 0.998× then 0.995×, measured once a run) has no spread to hide a
 * rounding-sized change, which --compare flagged worse.
 */
export const MIN_CHANGE = 0.05;

/**
 * Two runs' spreads of one ratio: worse (or better) only when each run's median lies outside the other run's
 * range on that side, i.e. the change is larger than either run's own noise. With 3 repetitions a run's range
 * is its min–max, so a change that one noisy run could produce by itself is "same".
 */
export function compareSpreads(older: Spread, newer: Spread, better: Better): Verdict {
  if (older.median !== 0 && Math.abs(newer.median / older.median - 1) < MIN_CHANGE) return 'same';
  const up = newer.median > older.max && older.median < newer.min;
  const down = newer.median < older.min && older.median > newer.max;
  if (!up && !down) return 'same';
  return up === (better === 'lower') ? 'worse' : 'better';
}

/**
 * Runs `measure` `n` times. `baselineFirst` alternates (true, false, true…) so that a scenario measuring a
 * baseline and the pipeline in each repetition can put them in both orders (a machine that gets busier during
 * the run then weighs on both sides alike).
 */
export async function repeat<T>(n: number, measure: (i: number, baselineFirst: boolean) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await measure(i, i % 2 === 0));
  return out;
}

/**
 * The baseline measured right before and right after the measured part, so that a machine that gets busier (or
 * quieter) during the repetition weighs on both sides alike; `mean` combines the two baselines (see meanBy).
 */
export async function bracketed<B, F>(baseline: () => Promise<B>, measure: () => Promise<F>, mean: (before: B, after: B) => B): Promise<{ figure: F; baseline: B; before: B; after: B }> {
  const before = await baseline();
  const figure = await measure();
  const after = await baseline();
  return { figure, baseline: mean(before, after), before, after };
}

/** Field-by-field arithmetic mean of two records of numbers (nested records too); other values from `a`. */
export function meanBy<T>(a: T, b: T): T {
  if (typeof a === 'number' && typeof b === 'number') return ((a + b) / 2) as T;
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(a)) out[k] = meanBy(v, (b as Record<string, unknown>)[k]);
    return out as T;
  }
  return a;
}
