// Per-token token bucket for ingest (INGEST_RATE_LIMIT events/s, burst of one second's worth; 0 = off).
export interface RateLimiter {
  /** Take `n` events for `key`; returns 0 when allowed, else the seconds to wait. */
  take(key: string, n: number): number;
}

export function createRateLimiter(perSecond: number): RateLimiter {
  if (perSecond <= 0) return { take: () => 0 };
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key, n) {
      const now = Date.now();
      const b = buckets.get(key) ?? { tokens: perSecond, at: now };
      b.tokens = Math.min(perSecond, b.tokens + ((now - b.at) / 1000) * perSecond);
      b.at = now;
      buckets.set(key, b);
      if (n <= b.tokens) {
        b.tokens -= n;
        return 0;
      }
      return Math.max(1, Math.ceil((n - b.tokens) / perSecond));
    },
  };
}
