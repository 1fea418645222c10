// Capped exponential backoff with jitter, the one formula of every reconnect and retry loop (issue 13 point 5).
// Pure (no Node APIs): the page's /live connection imports it too. Full jitter would allow a 0 ms retry; half
// jitter keeps each wait in [base/2, base], so a storm of clients spreads out and none spins.

export interface BackoffOptions {
  /** First wait, before jitter. */
  initialMs: number;
  /** Cap on any wait. */
  maxMs: number;
  /** Growth per attempt; 2 unless told. */
  factor?: number;
  /** Share of the wait that is random: 0 = none, 1 = anywhere in [0, base]; 0.5 unless told. */
  jitter?: number;
}

/** The wait before retry number `attempt` (0-based): min(maxMs, initialMs · factor^attempt), less up to `jitter` of it. */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const factor = o.factor ?? 2;
  const jitter = o.jitter ?? 0.5;
  // Math.min on the exponent too: 2 ** 1100 is Infinity, and attempt counters of a day-long outage get there.
  const base = Math.min(o.maxMs, o.initialMs * factor ** Math.min(Math.max(0, attempt), 64));
  return Math.round(base * (1 - jitter + jitter * random()));
}

/** A loop's attempt counter: `next()` gives the wait and counts the attempt; `reset()` after a success. */
export class Backoff {
  private count = 0;

  constructor(
    readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failed attempts since the last success. */
  get attempts(): number {
    return this.count;
  }

  next(): number {
    return backoffDelay(this.count++, this.options, this.random);
  }

  reset(): void {
    this.count = 0;
  }

  /** Wait the next delay (for loops that sleep rather than schedule). */
  wait(): Promise<void> {
    const ms = this.next();
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** Redis and PostgreSQL reconnects of the services: 50 ms doubling to 2 s (a restart is back in ~1 s). */
export const SERVICE_RECONNECT: BackoffOptions = { initialMs: 50, maxMs: 2_000 };
