// Read a quantile from a service's own Prometheus histogram (GET /metrics): the server-side view that tells the
// services' latency apart from the load generator's. Bucket counts are cumulative; the answer is the upper bound
// of the first bucket that reaches the quantile, so "≤ 5 ms" rather than an exact figure.

export type Buckets = Map<number, number>;

export async function histogramBuckets(url: string, metric: string, labels: Record<string, string> = {}): Promise<Buckets> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Buckets = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}_bucket{`)) continue;
    const labelText = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    if (!Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) continue;
    const le = /le="([^"]+)"/.exec(labelText)![1]!;
    const bound = le === '+Inf' ? Infinity : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/** Buckets of `after` minus those of `before`: what happened in between. */
export function bucketsBetween(before: Buckets, after: Buckets): Buckets {
  return new Map([...after].map(([le, n]) => [le, n - (before.get(le) ?? 0)]));
}

/** Upper bound (seconds) of the bucket holding the q-quantile; null without observations. */
export function bucketQuantile(b: Buckets, q: number): number | null {
  const sorted = [...b].sort((x, y) => x[0] - y[0]);
  const total = sorted[sorted.length - 1]?.[1] ?? 0;
  if (total === 0) return null;
  return sorted.find(([, n]) => n >= q * total)![0];
}

export function formatBound(seconds: number | null): string {
  if (seconds === null) return 'n/a';
  return seconds === Infinity ? '> last bucket' : `≤ ${Math.round(seconds * 1000 * 10) / 10} ms`;
}
