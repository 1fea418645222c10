// The live path put together (issue 13 point 1): the feed (head, coalesced fetches) hands rows to the fan-out
// (groups, topics, slow clients), and subscriptions replay and recover each subscriber. uWS enters only as the
// Publisher (app.publish) and, per socket, through uws-socket.ts.
import type pg from 'pg';
import type { Logger } from '@logstream/shared/logger.js';
import type { GatewayMetrics } from '../metrics.js';
import type { ReadGate } from '../read-gate.js';
import type { TextFold } from '../text-match.js';
import { FanOut, type Publisher } from './fanout.js';
import { Feed } from './feed.js';
import { catchUpReads, feedReads } from './queries.js';
import { DEFAULT_SUBSCRIPTION_OPTIONS, LiveSubscriptions } from './subscriptions.js';

export interface HubOptions {
  /** Buffered bytes above which a subscriber is treated as slow and skipped; replays wait above it. */
  softLimit: number;
  /** Slow-client scan period while rows are flowing. */
  scanIntervalMs: number;
  pollIntervalMs: number;
}

export interface HubDeps {
  publisher: Publisher;
  /** The live pool: the feed's index probes and pages of new rows. */
  liveDb: pg.Pool;
  /** The search pool and the replays' gate: replays and dropped counts (queries.ts, catchUpReads). */
  replayDb: pg.Pool;
  replays: ReadGate;
  log: Logger;
  metrics: GatewayMetrics;
  fold: TextFold;
}

export class LiveHub {
  readonly fanout: FanOut;
  readonly feed: Feed;
  readonly subscriptions: LiveSubscriptions;
  private scanTimer: NodeJS.Timeout | undefined;

  constructor(
    d: HubDeps,
    private readonly opts: HubOptions,
  ) {
    const { log, metrics } = d;
    this.fanout = new FanOut(d.publisher, { log, metrics, softLimit: opts.softLimit, fold: d.fold });
    this.feed = new Feed(feedReads(d.liveDb), this.fanout, { log, metrics });
    this.subscriptions = new LiveSubscriptions(this.fanout, this.feed, catchUpReads(d.replayDb, d.replays), { log, metrics }, { ...DEFAULT_SUBSCRIPTION_OPTIONS, softLimit: opts.softLimit });
  }

  async start(): Promise<void> {
    await this.feed.start(this.opts.pollIntervalMs);
    this.scanTimer = setInterval(() => this.subscriptions.scan(), this.opts.scanIntervalMs);
  }

  stop(): void {
    this.feed.stop();
    clearInterval(this.scanTimer);
  }
}
