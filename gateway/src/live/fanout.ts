// The fan-out: subscribers grouped by filter, one frame per group and fetch published to the group's topic (uWS
// topics fan it out natively), and the slow-client scan that takes a subscriber whose send buffer is full off its
// topic. Written against Publisher and Outlet (no uWS here), so test/live-core.test.ts runs it with fakes.
import { filterKey, matchesFields, type Filter } from '@logstream/shared/protocol.js';
import type { Logger } from '@logstream/shared/logger.js';
import type { GatewayMetrics } from '../metrics.js';
import type { LiveRow } from '../row-json.js';
import type { TextFold } from '../text-match.js';
import { splitFrames } from './frames.js';
import type { Subscriber } from './subscriber.js';
import { LiveTextIndex } from './text-index.js';

/** Sends a frame to every socket subscribed to a topic (uWS: app.publish). */
export interface Publisher {
  publish(topic: string, frame: string): void;
}

export interface FanOutDeps {
  metrics: GatewayMetrics;
  log: Pick<Logger, 'info'>;
  /** Buffered bytes above which a subscriber is treated as slow and skipped (LIVE_MAX_BACKPRESSURE). */
  softLimit: number;
  fold: TextFold;
}

interface Group {
  filter: Filter;
  /** filter.q lower-cased as PostgreSQL does (text-match.ts). */
  foldedQ: string;
  key: string;
  topic: string;
  members: Set<Subscriber>;
  /** Bytes published to the topic since its members' buffers were last checked. */
  bytesSinceScan: number;
  /** Every row with id ≤ this has been published to the topic (or did not match). */
  publishedUpTo: number;
}

export class FanOut {
  private readonly groups = new Map<string, Group>();
  private readonly groupOf = new Map<Subscriber, Group>();
  private readonly lagging = new Set<Subscriber>();
  private readonly text: LiveTextIndex;
  private readonly metrics: GatewayMetrics;
  private readonly softLimit: number;

  constructor(
    private readonly publisher: Publisher,
    private readonly deps: FanOutDeps,
  ) {
    this.text = new LiveTextIndex(deps.fold);
    this.metrics = deps.metrics;
    this.softLimit = deps.softLimit;
  }

  /** Subscribers on a topic; read on every fetch (live/feed.ts: nobody live, no rows fetched). */
  get liveCount(): number {
    return this.groupOf.size;
  }

  /**
   * Put `sub` on its filter's topic: it gets every row published after `head` (the feed's head now). Synchronous,
   * so no row can slip in between the caller's last read and this.
   */
  join(sub: Subscriber, head: number): void {
    sub.goLive();
    const foldedQ = this.text.text.fold(sub.filter.q);
    const key = filterKey(sub.filter, foldedQ);
    let g = this.groups.get(key);
    if (!g) {
      g = { filter: sub.filter, foldedQ, key, topic: `live:${key}`, members: new Set(), bytesSinceScan: 0, publishedUpTo: head };
      this.groups.set(key, g);
      this.text.add(foldedQ);
    }
    g.members.add(sub);
    this.groupOf.set(sub, g);
    sub.outlet.subscribe(g.topic);
  }

  /** Off its topic and out of the lagging set (a new subscription, or the socket closed). */
  leave(sub: Subscriber): void {
    this.lagging.delete(sub);
    const g = this.groupOf.get(sub);
    if (!g) return;
    this.groupOf.delete(sub);
    g.members.delete(sub);
    if (g.members.size === 0) {
      this.groups.delete(g.key);
      this.text.remove(g.foldedQ);
    }
    // uWS forbids touching a closed socket; it leaves its topics by itself.
    if (!sub.closed) sub.outlet.unsubscribe(g.topic);
  }

  /** A lagging subscriber has drained enough to be told what it missed and rejoin: half the soft limit. */
  drained(sub: Subscriber): boolean {
    return sub.mode === 'lagging' && sub.outlet.bufferedAmount() <= this.softLimit / 2;
  }

  /** A drained subscriber's recovery starts: it is no longer scanned as lagging. */
  recovering(sub: Subscriber): void {
    this.lagging.delete(sub);
    sub.catchUp();
  }

  /**
   * One frame per filter group and fetch (split so that no frame is over half the soft limit); rows are serialized
   * already (by PostgreSQL), frames are concatenation. Before a group has been sent another soft limit's worth of
   * bytes its members are checked, so a stalled client is moved off the topic long before uWS's hard cap.
   */
  publish(rows: readonly LiveRow[]): void {
    if (rows.length === 0) return;
    const stopTimer = this.metrics.publishDuration.startTimer();
    const now = Date.now();
    for (const r of rows) if (r.rt) this.metrics.ingestPushLatency.observe((now - r.rt) / 1000);
    const lastId = rows[rows.length - 1]!.id;
    // Each message is folded and scanned for every group's q once per fetch, not once per group (text-index.ts).
    const contains = this.text.scan(rows.map((r) => r.message));
    // Groups that match the same rows share their frames' text (the rows' JSON is concatenated once).
    const framesFor = new Map<string, ReturnType<typeof splitFrames>>();
    // A group exists only while it has members (leave() deletes the last one's group).
    for (const g of this.groups.values()) {
      const picked: number[] = [];
      for (let i = 0; i < rows.length; i++) if (matchesFields(g.filter, rows[i]!) && contains(i, g.foldedQ)) picked.push(i);
      if (picked.length === 0) {
        g.publishedUpTo = lastId;
        continue;
      }
      const key = picked.length === rows.length ? '*' : picked.join(',');
      let frames = framesFor.get(key);
      if (!frames) {
        frames = splitFrames(picked.length === rows.length ? rows : picked.map((i) => rows[i]!), this.softLimit / 2);
        framesFor.set(key, frames);
      }
      for (const frame of frames) {
        if (g.bytesSinceScan + frame.text.length > this.softLimit) this.scanGroup(g);
        // The scan may have taken the last member off: the group is gone, nobody to publish to.
        if (g.members.size === 0) break;
        this.publisher.publish(g.topic, frame.text);
        g.bytesSinceScan += frame.text.length;
        g.publishedUpTo = frame.cursor;
        this.metrics.frames.inc();
        this.metrics.rowsSent.inc(frame.rows * g.members.size);
      }
      g.publishedUpTo = lastId;
    }
    // uWS writes the queued frames when this turn of the loop ends: timed up to the next turn.
    setImmediate(stopTimer);
  }

  /**
   * Take subscribers whose send buffer is over the soft limit off their topic (from then on rows are skipped for
   * them, so memory stays bounded) and return the lagging ones that have drained: they are to be told what they
   * missed and rejoin. Runs every scan period; publish() also checks a group before sending it past the soft limit.
   */
  scan(): Subscriber[] {
    // A member's buffer can only have grown by what its group was sent since the last check: groups sent little
    // are skipped (bench: checking 10,000 subscribers every 50 ms was 16% of the gateway's JS time at 100 rows/s).
    for (const g of this.groups.values()) if (g.bytesSinceScan > this.softLimit / 8) this.scanGroup(g);
    return [...this.lagging].filter((sub) => this.drained(sub));
  }

  private scanGroup(g: Group): void {
    g.bytesSinceScan = 0;
    for (const sub of g.members) {
      if (sub.outlet.bufferedAmount() > this.softLimit) {
        this.leave(sub);
        // Every row up to what this group was sent is already queued to the socket; later ones may be skipped.
        sub.lag(g.publishedUpTo + 1);
        this.lagging.add(sub);
        this.deps.log.info({ from: sub.laggingFrom }, 'slow live client: skipping rows until it drains');
      }
    }
  }
}
