// /live subscriptions (CONTRACT §6): subscribe with a filter and an optional `since`, replay stored rows after it,
// then hand over to live rows with no gap and no duplicate; a subscriber that lagged is told exactly what it
// missed (count and id range) once it drains, then rejoins. Drives each Subscriber's machine (subscriber.ts) over
// the fan-out (fanout.ts), the feed's head (feed.ts) and CatchUpReads (queries.ts); test/live-core.test.ts runs
// it all with fakes of those.
import { droppedFrame, errorFrame, helloFrame, type Filter } from '@logstream/shared/protocol.js';
import type { Logger } from '@logstream/shared/logger.js';
import type { GatewayMetrics } from '../metrics.js';
import type { FanOut } from './fanout.js';
import { splitFrames } from './frames.js';
import type { CatchUpReads } from './queries.js';
import { Subscriber, type Outlet } from './subscriber.js';

/** What subscriptions need of the feed (feed.ts). */
export interface HeadSource {
  readonly head: number;
  waitForHead(id: number, timeoutMs: number): Promise<boolean>;
}

export interface SubscriptionOptions {
  /** Buffered bytes above which a replay waits for the client to read (LIVE_MAX_BACKPRESSURE, as the fan-out's). */
  softLimit: number;
  /** How long a resuming client waits for this gateway to see its cursor (it may come from a gateway ahead of us). */
  cursorWaitMs: number;
  /** How often a replay waiting for a full buffer checks it again. */
  replayPollMs: number;
}

export const DEFAULT_SUBSCRIPTION_OPTIONS = { cursorWaitMs: 5_000, replayPollMs: 20 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LiveSubscriptions {
  constructor(
    private readonly fanout: FanOut,
    private readonly feed: HeadSource,
    private readonly reads: CatchUpReads,
    private readonly deps: { log: Pick<Logger, 'warn'>; metrics: GatewayMetrics },
    private readonly opts: SubscriptionOptions,
  ) {}

  /** A socket opened: it is told the head (CONTRACT §6 `hello`) and starts idle. */
  open(outlet: Outlet): Subscriber {
    const sub = new Subscriber(outlet);
    sub.send(helloFrame(this.feed.head));
    return sub;
  }

  close(sub: Subscriber): void {
    sub.close();
    this.fanout.leave(sub);
  }

  /**
   * Replace the subscription: join live at once without `since`; with it, replay matching rows in (since, head]
   * and join live in the same synchronous step as the last check of the head. Settles when live (or stopped by a
   * newer subscription or close); on a database error the client is told and disconnected (it resumes with since).
   */
  async subscribe(sub: Subscriber, filter: Filter, since: number | undefined): Promise<void> {
    this.fanout.leave(sub);
    const generation = sub.resubscribe(filter);
    if (since === undefined) {
      this.fanout.join(sub, this.feed.head);
      return;
    }
    sub.catchUp();
    try {
      await this.replay(sub, generation, since);
    } catch (err) {
      this.fail(sub, err);
    }
  }

  /** The socket's buffer went down (uWS drain): a lagging subscriber that has drained recovers. */
  drained(sub: Subscriber): void {
    if (this.fanout.drained(sub)) void this.recover(sub);
  }

  /** The slow-client scan (every scan period): lagging subscribers that have drained recover. */
  scan(): void {
    for (const sub of this.fanout.scan()) void this.recover(sub);
  }

  private async replay(sub: Subscriber, generation: number, since: number): Promise<void> {
    const { reads } = this;
    if (since > this.feed.head && !(await this.feed.waitForHead(since, this.opts.cursorWaitMs))) {
      if (!sub.current(generation)) return;
      sub.send(errorFrame('cursor_ahead', `since=${since} is ahead of the newest row (${this.feed.head}); continuing live from ${this.feed.head}`));
      this.fanout.join(sub, this.feed.head);
      return;
    }
    let cursor = since;
    // Rows after the cursor that retention dropped: say so (issue 15), then replay what is left after them.
    const gone = await reads.droppedAfter(since);
    if (!sub.current(generation)) return;
    if (gone) {
      sub.send(droppedFrame({ count: gone.count, from: gone.from, to: gone.to, reason: 'retention' }));
      cursor = Math.max(cursor, gone.to);
    }
    for (;;) {
      if (!sub.current(generation)) return;
      const upTo = this.feed.head;
      const sliceEnd = await reads.sliceEnd(cursor, upTo);
      const { rows, more } = await reads.matching(sub.filter, cursor, sliceEnd);
      if (!sub.current(generation)) return;
      for (const frame of splitFrames(rows, this.opts.softLimit / 2)) {
        // Replay at the pace the client reads: memory stays bounded for a slow one.
        while (!sub.closed && sub.outlet.bufferedAmount() > this.opts.softLimit) await sleep(this.opts.replayPollMs);
        if (!sub.current(generation)) return;
        sub.send(frame.text);
        cursor = frame.cursor;
        this.deps.metrics.rowsSent.inc(frame.rows);
      }
      // A page bounded by rows or bytes (page-bytes.ts): the next one starts after the last row sent.
      if (more) continue;
      cursor = Math.max(cursor, sliceEnd);
      if (sliceEnd < upTo) continue;
      // Everything matching up to `upTo` is sent. If the feed has not moved meanwhile, join live now
      // (synchronously: the feed publishes only between awaits); otherwise replay the rest first.
      if (this.feed.head === upTo) {
        this.fanout.join(sub, upTo);
        return;
      }
      cursor = Math.max(cursor, upTo);
    }
  }

  /** A lagging subscriber drained: report what it missed (exactly, by count and id range), then rejoin live. */
  private async recover(sub: Subscriber): Promise<void> {
    this.fanout.recovering(sub);
    const generation = sub.generation;
    let from = sub.laggingFrom;
    try {
      for (;;) {
        const to = this.feed.head;
        if (to >= from) {
          let count = 0;
          for (let a = from, b = 0; a <= to; a = b + 1) {
            b = await this.reads.sliceEnd(a - 1, to);
            count += await this.reads.countMatching(sub.filter, a, b);
            if (!sub.current(generation)) return;
          }
          if (count > 0) {
            sub.send(droppedFrame({ count, from, to }));
            this.deps.metrics.rowsDropped.inc(count);
          }
        }
        if (this.feed.head === to) {
          this.fanout.join(sub, to);
          return;
        }
        from = to + 1;
      }
    } catch (err) {
      this.fail(sub, err);
    }
  }

  private fail(sub: Subscriber, err: unknown): void {
    this.deps.log.warn({ err: (err as Error).message }, 'live subscription failed');
    if (sub.closed) return;
    sub.send(errorFrame('unavailable', 'the database is unavailable; reconnect with since=<last cursor> to resume'));
    sub.outlet.end(1011, 'database unavailable');
  }
}
