// The feed: one high-water mark (head) per gateway and one query per notification burst, its rows handed to the
// fan-out; resuming clients and Loki tails wait for or follow the head. Written against FeedReads (live/queries.ts
// binds them to PostgreSQL).
import type { Logger } from '@logstream/shared/logger.js';
import type { GatewayMetrics } from '../metrics.js';
import type { LiveRow } from '../row-json.js';
import type { RowPage } from './queries.js';

export interface FeedReads {
  /** The newest stored id (0 for none). */
  headId(): Promise<number>;
  /** Stored rows with id > after, oldest first, one page. */
  rowsAfter(after: number): Promise<RowPage>;
}

/** Where fetched rows go: the fan-out. */
export interface FeedSink {
  /** Subscribers on a topic now. */
  readonly liveCount: number;
  publish(rows: readonly LiveRow[]): void;
}

/**
 * Under load, fetches (and so frames) are spaced at least this far apart: a burst of single-row commits becomes
 * one query and one frame per filter group instead of one per row. Idle, the first notification is fetched at
 * once, so a lone event pays no delay. The spacing grows with the audience, because every frame costs one write
 * per subscriber: 1 ms up to 100 subscribers, 1 ms per 100 beyond, capped at 100 ms (10,000 subscribers → 10
 * frames/s → 100,000 writes/s instead of a million at 100 events/s). Bench fanout, 10,000 subscribers read by a
 * native client on the same 2 cores, send→receive p50 / p99 and gateway CPU: a 200 ms cap 153 / 283 ms at 43% of
 * a core; 100 ms 98 / 190 ms at 63%; 50 ms 91 / 173 ms at 86%. Writing one frame to 10,000 sockets takes 50-100 ms
 * (logstream_live_publish_seconds), so frames come no faster than that anyway. With Node `ws` clients, which took
 * most of a core themselves, 200 ms had looked better. The floor was 3 ms: at 1,000 single events/s (bench latency,
 * one subscriber) that held each row ~1.5 ms on average for nothing, send→receive p50 ÷ the bare chain's 4.24× and
 * 3.64× against 2.87× and 2.4× with 1 ms (runs interleaved 3/1/3/1, load average 6-7); at most 1,000 fetches/s.
 */
export function coalesceMs(subscribers: number): number {
  return Math.min(100, Math.max(1, Math.ceil(subscribers / 100)));
}

export class Feed {
  /** Highest id fetched and published. Every row with id ≤ head is committed (ids commit in order). */
  head = 0;
  private fetching = false;
  private dirty = false;
  private lastFetchAt = 0;
  private coalesceTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private headWaiters: { id: number; resolve: () => void }[] = [];
  /** Arrival time of the oldest NOTIFY not yet served by a fetch (for the store→push latency metric). */
  private notifiedAt: number | undefined;
  private readonly headListeners = new Set<(head: number) => void>();

  constructor(
    private readonly reads: FeedReads,
    private readonly sink: FeedSink,
    private readonly deps: { log: Pick<Logger, 'warn'>; metrics: GatewayMetrics },
  ) {}

  /** Read the head; then poll every pollIntervalMs (0: never), so a missing NOTIFY delays a row by at most that. */
  async start(pollIntervalMs: number): Promise<void> {
    this.head = await this.reads.headId();
    this.deps.metrics.head.set(this.head);
    if (pollIntervalMs > 0) this.pollTimer = setInterval(() => this.requestFetch(), pollIntervalMs);
  }

  stop(): void {
    clearTimeout(this.coalesceTimer);
    clearInterval(this.pollTimer);
  }

  /** A notification (or poll, or reconnect) says rows may have arrived: fetch them, coalescing bursts. */
  requestFetch(notifiedAt?: number): void {
    if (notifiedAt !== undefined) this.notifiedAt ??= notifiedAt;
    if (this.fetching) {
      this.dirty = true;
      return;
    }
    if (this.coalesceTimer) return;
    const wait = this.lastFetchAt + coalesceMs(this.sink.liveCount) - Date.now();
    if (wait > 0) {
      this.coalesceTimer = setTimeout(() => {
        this.coalesceTimer = undefined;
        this.requestFetch();
      }, wait);
      return;
    }
    this.fetching = true;
    void this.fetchLoop();
  }

  /** Resolve once head ≥ id (or false after timeoutMs); used when a client resumes from a cursor this gateway has not seen. */
  waitForHead(id: number, timeoutMs: number): Promise<boolean> {
    if (this.head >= id) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.headWaiters = this.headWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = {
        id,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.headWaiters.push(waiter);
      this.requestFetch();
    });
  }

  /** Called with the new head each time it moves: Loki tails (loki/tail.ts) read their own rows up to it. */
  onHead(fn: (head: number) => void): () => void {
    this.headListeners.add(fn);
    return () => this.headListeners.delete(fn);
  }

  private async fetchLoop(): Promise<void> {
    let failures = 0;
    // `again`: more rows are waiting right now (a full page, a retry, a subscriber that joined mid-probe).
    // Notifications that arrive meanwhile only set `dirty`: they go back through requestFetch and its spacing, so a
    // slow publish (10,000 subscribers) does not double the frame rate.
    let again: boolean;
    do {
      again = false;
      this.dirty = false;
      this.lastFetchAt = Date.now();
      const notifiedAt = this.notifiedAt;
      this.notifiedAt = undefined;
      try {
        if (this.sink.liveCount === 0) {
          // Nobody to push to: move the head with one index probe instead of fetching the rows with their JSON
          // (bench: 10-14 ms of PostgreSQL time per 1,000 rows saved, about a third of what storing them costs).
          const newest = await this.reads.headId();
          // A subscriber that joined during the await started from the old head: it needs the rows, fetch them.
          if (this.sink.liveCount === 0) this.advanceHead(newest);
          else again = true;
          failures = 0;
          this.resolveHeadWaiters();
          continue;
        }
        const { rows, more } = await this.reads.rowsAfter(this.head);
        if (rows.length > 0) {
          this.sink.publish(rows);
          if (notifiedAt !== undefined) this.deps.metrics.storePushLatency.observe((Date.now() - notifiedAt) / 1000);
          this.advanceHead(rows[rows.length - 1]!.id);
          // A page bounded by rows or bytes (page-bytes.ts): the rest comes in the next turn.
          if (more) again = true;
        }
        failures = 0;
      } catch (err) {
        // PostgreSQL unavailable: try again shortly; the poll timer keeps retrying after that.
        if (failures++ === 0) this.deps.log.warn({ err: (err as Error).message }, 'cannot fetch new rows; will retry');
        if (failures < 3) {
          await new Promise((r) => setTimeout(r, 200 * failures));
          again = true;
        }
      }
      this.resolveHeadWaiters();
    } while (again);
    this.fetching = false;
    if (this.dirty) this.requestFetch();
  }

  private advanceHead(id: number): void {
    if (id <= this.head) return;
    this.head = id;
    this.deps.metrics.head.set(id);
    for (const fn of this.headListeners) fn(id);
  }

  private resolveHeadWaiters(): void {
    if (this.headWaiters.length === 0) return;
    const ready = this.headWaiters.filter((w) => w.id <= this.head);
    this.headWaiters = this.headWaiters.filter((w) => w.id > this.head);
    for (const w of ready) w.resolve();
  }
}
