// A limit on expensive reads running at once (issue 11 point 4): `limit` run, the rest wait in order. A request
// waits at most maxWaitMs, and at most maxQueue wait, then it is answered 503 `busy` with Retry-After (never a hang,
// never a 3 s pool timeout reported as "PostgreSQL unavailable"). /live replays have a gate of their own with no
// bounds on waiting: a replay holds no request open, and between its pages others get their turn.
import { HttpError } from '@logstream/shared/errors.js';

/** Why a read was refused: the queue was full, or it waited maxWaitMs (logstream_reads_refused_total{reason}). */
export type RefusalReason = 'queue_full' | 'wait_timeout';

/** 503 `busy`; `reason` lets an API answer in its own shape (Loki's 429 for a full queue, loki/routes.ts). */
export class BusyError extends HttpError {
  constructor(
    readonly reason: RefusalReason,
    what: string,
  ) {
    super(503, 'busy', `too many searches at once (${what}); retry shortly, or narrow the search (service, level, since/until)`, undefined, { 'Retry-After': '1' });
  }
}

interface Waiter {
  resolve: () => void;
  timer?: NodeJS.Timeout;
}

export interface GateStats {
  active: number;
  waiting: number;
  refused: number;
}

export class ReadGate {
  private active = 0;
  private refused = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    readonly limit: number,
    readonly maxQueue: number,
    readonly maxWaitMs: number,
    /** Told of every refusal (the gateway counts them in a metric). */
    private readonly onRefuse: (reason: RefusalReason) => void = () => {},
  ) {}

  stats(): GateStats {
    return { active: this.active, waiting: this.queue.length, refused: this.refused };
  }

  /** Run `fn` in a slot; a 503 `busy` past the bounds on waiting. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Take a slot (a BusyError past the bounds); give it back with release(), once. */
  acquire(): Promise<void> {
    if (this.active < this.limit && this.queue.length === 0) {
      this.active++;
      return Promise.resolve();
    }
    if (this.queue.length >= this.maxQueue) {
      return Promise.reject(this.refuse('queue_full', `${this.queue.length} waiting`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve };
      if (Number.isFinite(this.maxWaitMs)) {
        waiter.timer = setTimeout(() => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(this.refuse('wait_timeout', `waited ${this.maxWaitMs} ms`));
        }, this.maxWaitMs);
      }
      this.queue.push(waiter);
    });
  }

  private refuse(reason: RefusalReason, what: string): BusyError {
    this.refused++;
    this.onRefuse(reason);
    return new BusyError(reason, what);
  }

  release(): void {
    const next = this.queue.shift();
    if (next) {
      // The slot passes straight to the next waiter.
      clearTimeout(next.timer);
      next.resolve();
    } else {
      this.active--;
    }
  }
}
