// The live hub: one high-water mark per gateway, one query per notification burst, one frame per filter group,
// fanned out natively by uWS topics. Slow clients are moved off their topic and told exactly what they missed.
import type pg from 'pg';
import type { Logger } from '@logstream/shared/logger.js';
import { filterKey, matchesFields, type Filter } from '@logstream/shared/protocol.js';
import { splitFrames } from './frames.js';
import type { TemplatedApp, WebSocket } from '@logstream/shared/uws.js';
import type { GatewayMetrics } from '../metrics.js';
import { headId, rowsAfter } from './queries.js';
import type { LiveRow } from '../row-json.js';
import { LiveTextIndex } from './text-index.js';
import type { TextFold } from '../text-match.js';

export interface LiveSocketData {
  filter: Filter;
  /** The uWS topic this socket is subscribed to, when live. */
  topic: string | null;
  /** 'idle' (no subscription), 'catchup' (replaying since), 'live' (on its topic), 'lagging' (skipping rows). */
  mode: 'idle' | 'catchup' | 'live' | 'lagging';
  /** First id that may have been skipped while lagging. */
  laggingFrom: number;
  /** Bumped on every new subscription so that a stale replay stops. */
  generation: number;
  closed: boolean;
  /** Query-string subscription, applied on open. */
  initial?: { filter: Filter; since?: number };
  initialError?: string;
}

export type LiveSocket = WebSocket<LiveSocketData>;

interface Group {
  filter: Filter;
  /** filter.q lower-cased as PostgreSQL does (text-match.ts). */
  foldedQ: string;
  topic: string;
  members: Set<LiveSocket>;
  /** Bytes published to the topic since its members' buffers were last checked. */
  bytesSinceScan: number;
  /** Every row with id ≤ this has been published to the topic (or did not match). */
  publishedUpTo: number;
}

/**
 * Under load, fetches (and so frames) are spaced at least this far apart: a burst of single-row commits becomes
 * one query and one frame per filter group instead of one per row. Idle, the first notification is fetched at
 * once, so a lone event pays no delay. The spacing grows with the audience, because every frame costs one write
 * per subscriber: 3 ms up to 300 subscribers, 1 ms per 100 beyond, capped at 100 ms (10,000 subscribers → 10
 * frames/s → 100,000 writes/s instead of a million at 100 events/s). Bench fanout, 10,000 subscribers read by a
 * native client on the same 2 cores, send→receive p50 / p99 and gateway CPU: a 200 ms cap 153 / 283 ms at 43% of
 * a core; 100 ms 98 / 190 ms at 63%; 50 ms 91 / 173 ms at 86%. Writing one frame to 10,000 sockets takes 50-100 ms
 * (logstream_live_publish_seconds), so frames come no faster than that anyway. With Node `ws` clients, which took
 * most of a core themselves, 200 ms had looked better.
 */
export function coalesceMs(subscribers: number): number {
  return Math.min(100, Math.max(3, Math.ceil(subscribers / 100)));
}

export interface HubOptions {
  /** Buffered bytes above which a subscriber is treated as slow and skipped. */
  softLimit: number;
  /** Slow-client scan period while rows are flowing. */
  scanIntervalMs: number;
  pollIntervalMs: number;
}

export class LiveHub {
  /** Highest id fetched and published. Every row with id ≤ head is committed (ids commit in order). */
  head = 0;
  private readonly groups = new Map<string, Group>();
  private fetching = false;
  private dirty = false;
  private lastFetchAt = 0;
  private coalesceTimer: NodeJS.Timeout | undefined;
  private headWaiters: { id: number; resolve: () => void }[] = [];
  private readonly lagging = new Set<LiveSocket>();
  /** Arrival time of the oldest NOTIFY not yet served by a fetch (for the store→push latency metric). */
  private notifiedAt: number | undefined;
  private timers: NodeJS.Timeout[] = [];
  onLaggingRecoverable: (ws: LiveSocket) => void = () => {};

  constructor(
    private readonly app: TemplatedApp,
    private readonly db: pg.Pool,
    private readonly log: Logger,
    private readonly metrics: GatewayMetrics,
    private readonly opts: HubOptions,
    text: TextFold,
  ) {
    this.text = new LiveTextIndex(text);
  }

  private readonly text: LiveTextIndex;

  async start(): Promise<void> {
    this.head = await headId(this.db);
    this.metrics.head.set(this.head);
    // A missing NOTIFY delays a row by at most one poll period; it never loses it.
    this.timers.push(setInterval(() => this.requestFetch(), this.opts.pollIntervalMs));
    this.timers.push(setInterval(() => this.scanSlowClients(), this.opts.scanIntervalMs));
  }

  stop(): void {
    clearTimeout(this.coalesceTimer);
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Sockets on a topic (live), kept as a counter because it is read on every fetch. */
  private liveSubscribers = 0;

  /** A notification (or poll, or reconnect) says rows may have arrived: fetch them, coalescing bursts. */
  requestFetch(notifiedAt?: number): void {
    if (notifiedAt !== undefined) this.notifiedAt ??= notifiedAt;
    if (this.fetching) {
      this.dirty = true;
      return;
    }
    if (this.coalesceTimer) return;
    const wait = this.lastFetchAt + coalesceMs(this.liveSubscribers) - Date.now();
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

  /** Resolve once head ≥ id (or after timeoutMs); used when a client resumes from a cursor this gateway has not seen. */
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
        if (this.liveSubscribers === 0) {
          // Nobody to push to: move the head with one index probe instead of fetching the rows with their JSON
          // (bench: 10-14 ms of PostgreSQL time per 1,000 rows saved, about a third of what storing them costs).
          const newest = await headId(this.db);
          // A subscriber that joined during the await started from the old head: it needs the rows, fetch them.
          if (this.liveSubscribers === 0) this.advanceHead(newest);
          else again = true;
          failures = 0;
          this.resolveHeadWaiters();
          continue;
        }
        const { rows, more } = await rowsAfter(this.db, this.head);
        if (rows.length > 0) {
          this.publish(rows);
          if (notifiedAt !== undefined) this.metrics.storePushLatency.observe((Date.now() - notifiedAt) / 1000);
          this.advanceHead(rows[rows.length - 1]!.id);
          // A page bounded by rows or bytes (page-bytes.ts): the rest comes in the next turn.
          if (more) again = true;
        }
        failures = 0;
      } catch (err) {
        // PostgreSQL unavailable: try again shortly; the poll timer keeps retrying after that.
        if (failures++ === 0) this.log.warn({ err: (err as Error).message }, 'cannot fetch new rows; will retry');
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
    this.metrics.head.set(id);
    for (const fn of this.headListeners) fn(id);
  }

  /** Called with the new head each time it moves: Loki tails (loki/tail.ts) read their own rows up to it. */
  private readonly headListeners = new Set<(head: number) => void>();
  onHead(fn: (head: number) => void): () => void {
    this.headListeners.add(fn);
    return () => this.headListeners.delete(fn);
  }

  private resolveHeadWaiters(): void {
    if (this.headWaiters.length === 0) return;
    const ready = this.headWaiters.filter((w) => w.id <= this.head);
    this.headWaiters = this.headWaiters.filter((w) => w.id > this.head);
    for (const w of ready) w.resolve();
  }

  /**
   * One frame per filter group and burst (split so that no frame is over half the soft limit); rows are serialized
   * already (by PostgreSQL), frames are concatenation. Before a group has been sent another soft limit's worth of
   * bytes its members are checked, so a stalled client is moved off the topic long before uWS's hard cap.
   */
  private publish(rows: LiveRow[]): void {
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
        frames = splitFrames(picked.length === rows.length ? rows : picked.map((i) => rows[i]!), this.opts.softLimit / 2);
        framesFor.set(key, frames);
      }
      for (const frame of frames) {
        if (g.bytesSinceScan + frame.text.length > this.opts.softLimit) this.scanGroup(g);
        this.app.publish(g.topic, frame.text);
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

  /** Move members of `g` whose send buffer is over the soft limit off the topic; they will get a dropped range. */
  private scanGroup(g: Group): void {
    g.bytesSinceScan = 0;
    for (const ws of g.members) {
      if (ws.getBufferedAmount() > this.opts.softLimit) {
        const data = ws.getUserData();
        this.leave(ws);
        data.mode = 'lagging';
        // Every row up to what this group was sent is already queued to the socket; later ones may be skipped.
        data.laggingFrom = g.publishedUpTo + 1;
        this.lagging.add(ws);
        this.log.info({ from: data.laggingFrom }, 'slow live client: skipping rows until it drains');
      }
    }
  }

  /** Put a socket on its filter's topic, from the current head on. Synchronous: no row can slip in between. */
  joinLive(ws: LiveSocket): void {
    const data = ws.getUserData();
    const foldedQ = this.text.text.fold(data.filter.q);
    const key = filterKey(data.filter, foldedQ);
    let g = this.groups.get(key);
    if (!g) {
      g = { filter: data.filter, foldedQ, topic: `live:${key}`, members: new Set(), bytesSinceScan: 0, publishedUpTo: this.head };
      this.groups.set(key, g);
      this.text.add(foldedQ);
    }
    if (!g.members.has(ws)) this.liveSubscribers++;
    g.members.add(ws);
    ws.subscribe(g.topic);
    data.topic = g.topic;
    data.mode = 'live';
    this.lagging.delete(ws);
  }

  leave(ws: LiveSocket): void {
    const data = ws.getUserData();
    this.lagging.delete(ws);
    if (data.topic === null) return;
    const key = data.topic.slice('live:'.length);
    const g = this.groups.get(key);
    if (g) {
      if (g.members.delete(ws)) this.liveSubscribers--;
      if (g.members.size === 0) {
        this.groups.delete(key);
        this.text.remove(g.foldedQ);
      }
    }
    if (!data.closed) ws.unsubscribe(data.topic);
    data.topic = null;
  }

  /**
   * Move subscribers whose send buffer is over the soft limit off their topic: from then on rows are skipped for
   * them (memory stays bounded) and, once they drain, they get a `dropped` range. Runs every scanIntervalMs;
   * publish() also checks a group before sending it past the soft limit.
   */
  scanSlowClients(): void {
    // A member's buffer can only have grown by what its group was sent since the last check: groups sent little
    // are skipped (bench: checking 10,000 subscribers every 50 ms was 16% of the gateway's JS time at 100 rows/s).
    for (const g of this.groups.values()) if (g.bytesSinceScan > this.opts.softLimit / 8) this.scanGroup(g);
    for (const ws of this.lagging) {
      if (ws.getBufferedAmount() <= this.opts.softLimit / 2) this.onLaggingRecoverable(ws);
    }
  }

  forgetLagging(ws: LiveSocket): void {
    this.lagging.delete(ws);
  }
}
