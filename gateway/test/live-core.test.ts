// The live core (gateway/src/live/: subscriber.ts, fanout.ts, subscriptions.ts, feed.ts) with small fakes of its
// own interfaces (Outlet, Publisher, CatchUpReads, FeedReads) instead of uWS and PostgreSQL: every mode
// transition, exact dropped ranges, a client that drains mid-lag, replays that race the head. The same guarantees
// against the real gateway, PostgreSQL and sockets: live-delivery.test.ts, gateway.test.ts.
import { describe, expect, it } from 'vitest';
import { LEVEL_VALUES } from '@logstream/shared/levels.js';
import { decodeServerMessage, matchesFields, parseFilter, type DroppedMessage, type ErrorMessage, type Filter, type ServerMessage } from '@logstream/shared/protocol.js';
import { gatewayMetrics } from '../src/metrics.js';
import type { LiveRow } from '../src/row-json.js';
import { TextFold } from '../src/text-match.js';
import { FanOut, type Publisher } from '../src/live/fanout.js';
import { Feed, type FeedReads } from '../src/live/feed.js';
import type { CatchUpReads, RowPage } from '../src/live/queries.js';
import { Subscriber, type Outlet } from '../src/live/subscriber.js';
import { LiveSubscriptions, type HeadSource } from '../src/live/subscriptions.js';

const metrics = gatewayMetrics();
const quiet = { info: () => {}, warn: () => {} };
const fold = new TextFold(new Map([...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((c) => [c, c.toLowerCase()] as [string, string])));
/** Small, so that a few rows of ~110 bytes fill a buffer: frames are split at half of it. */
const SOFT_LIMIT = 1_000;
/** Rows per page and per slice of the fake reads: small, so that replays and counts take several reads. */
const PAGE = 3;
const SLICE = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  for (const start = Date.now(); !cond(); await sleep(1)) if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
}

function filter(input: Record<string, unknown> = {}): Filter {
  const f = parseFilter(input);
  if (!f.ok) throw new Error(f.message);
  return f.filter;
}

/** The stored table, as the fake reads see it; rows get ids 10, 20, 30, … (ids are sparse, as the real ones). */
class Table {
  rows: LiveRow[] = [];
  private nextId = 10;
  add(n: number, pick: (i: number) => { service?: string; level?: keyof typeof LEVEL_VALUES; message?: string } = () => ({})): LiveRow[] {
    const added: LiveRow[] = [];
    for (let i = 0; i < n; i++) {
      const p = pick(i);
      const id = this.nextId;
      this.nextId += 10;
      const row = { id, level: LEVEL_VALUES[p.level ?? 'info'], service: p.service ?? 'api', message: p.message ?? `row ${id}`, rt: 0 };
      added.push({ ...row, json: JSON.stringify({ id, level: p.level ?? 'info', service: row.service, message: row.message, padding: 'x'.repeat(40) }) });
    }
    this.rows.push(...added);
    return added;
  }
  matching(f: Filter, from: number, to: number): LiveRow[] {
    const q = fold.fold(f.q);
    return this.rows.filter((r) => r.id >= from && r.id <= to && matchesFields(f, r) && fold.fold(r.message).includes(q));
  }
  get head(): number {
    return this.rows[this.rows.length - 1]?.id ?? 0;
  }
}

/** CatchUpReads over the table; `during` runs inside a read (between its start and its answer), as a racing commit would. */
class FakeReads implements CatchUpReads {
  during: (() => void) | undefined;
  fail = false;
  retention: { from: number; to: number; count: number } | undefined;
  constructor(private readonly table: Table) {}
  private async step(): Promise<void> {
    await sleep(0);
    if (this.fail) throw new Error('connection refused');
    const fn = this.during;
    this.during = undefined;
    fn?.();
  }
  async sliceEnd(after: number, upTo: number): Promise<number> {
    await this.step();
    return this.table.rows.filter((r) => r.id > after && r.id <= upTo)[SLICE - 1]?.id ?? upTo;
  }
  async matching(f: Filter, after: number, upTo: number): Promise<RowPage> {
    await this.step();
    const rows = this.table.matching(f, after + 1, upTo);
    return { rows: rows.slice(0, PAGE), more: rows.length > PAGE };
  }
  async countMatching(f: Filter, from: number, to: number): Promise<number> {
    await this.step();
    return this.table.matching(f, from, to).length;
  }
  async droppedAfter(after: number) {
    await this.step();
    return this.retention && this.retention.to > after ? { ...this.retention, from: Math.max(after + 1, this.retention.from) } : undefined;
  }
}

/** uWS's topics: a publish reaches every outlet subscribed to the topic. */
class FakeServer implements Publisher {
  readonly topics = new Map<string, Set<FakeOutlet>>();
  publish(topic: string, frame: string): void {
    for (const o of this.topics.get(topic) ?? []) o.send(frame);
  }
}

class FakeOutlet implements Outlet {
  readonly frames: ServerMessage[] = [];
  readonly topics = new Set<string>();
  buffered = 0;
  ended: { code: number; reason: string } | undefined;
  constructor(private readonly server: FakeServer) {}
  send(frame: string): void {
    const m = decodeServerMessage(frame);
    if (!m) throw new Error(`not a server frame: ${frame}`);
    this.frames.push(m);
  }
  bufferedAmount(): number {
    return this.buffered;
  }
  subscribe(topic: string): void {
    this.topics.add(topic);
    let set = this.server.topics.get(topic);
    if (!set) this.server.topics.set(topic, (set = new Set()));
    set.add(this);
  }
  unsubscribe(topic: string): void {
    this.topics.delete(topic);
    this.server.topics.get(topic)?.delete(this);
  }
  end(code: number, reason: string): void {
    this.ended = { code, reason };
  }
  /** uWS takes a closed socket off its topics by itself. */
  disconnect(): void {
    for (const t of this.topics) this.server.topics.get(t)?.delete(this);
  }
  ids(): number[] {
    return this.frames.flatMap((f) => (f.type === 'logs' ? f.items.map((i) => i.id) : []));
  }
  dropped(): DroppedMessage[] {
    return this.frames.filter((f): f is DroppedMessage => f.type === 'dropped');
  }
  errors(): ErrorMessage[] {
    return this.frames.filter((f): f is ErrorMessage => f.type === 'error');
  }
}

/** The feed's head moved by hand: committing rows publishes them, as Feed does after a fetch. */
class ManualFeed implements HeadSource {
  head: number;
  private waiters: { id: number; resolve: (ok: boolean) => void }[] = [];
  constructor(
    private readonly table: Table,
    private readonly fanout: FanOut,
  ) {
    this.head = table.head;
  }
  commit(n: number, pick?: Parameters<Table['add']>[1]): LiveRow[] {
    const rows = this.table.add(n, pick);
    this.fanout.publish(rows);
    this.head = this.table.head;
    for (const w of this.waiters.filter((w) => w.id <= this.head)) w.resolve(true);
    this.waiters = this.waiters.filter((w) => w.id > this.head);
    return rows;
  }
  waitForHead(id: number, timeoutMs: number): Promise<boolean> {
    if (this.head >= id) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.waiters.push({ id, resolve });
      setTimeout(() => resolve(false), timeoutMs);
    });
  }
}

function core(stored = 0) {
  const table = new Table();
  table.add(stored);
  const server = new FakeServer();
  const fanout = new FanOut(server, { metrics, log: quiet, softLimit: SOFT_LIMIT, fold });
  const feed = new ManualFeed(table, fanout);
  const reads = new FakeReads(table);
  const subs = new LiveSubscriptions(fanout, feed, reads, { metrics, log: quiet }, { softLimit: SOFT_LIMIT, cursorWaitMs: 50, replayPollMs: 1 });
  const connect = () => {
    const outlet = new FakeOutlet(server);
    return { outlet, sub: subs.open(outlet) };
  };
  const close = (conn: ReturnType<typeof connect>) => {
    conn.outlet.disconnect();
    subs.close(conn.sub);
  };
  return { table, server, fanout, feed, reads, subs, connect, close };
}

const idsOf = (rows: LiveRow[]) => rows.map((r) => r.id);

describe('live subscriber machine', () => {
  it('has exactly the transitions idle → live | catchup, catchup → live, live → lagging, lagging → catchup', () => {
    const outlet = new FakeOutlet(new FakeServer());
    const sub = new Subscriber(outlet);
    expect(sub.mode).toBe('idle');
    expect(() => sub.lag(1)).toThrow('no transition idle → lagging');
    sub.catchUp();
    expect(() => sub.catchUp()).toThrow('no transition catchup → catchup');
    expect(() => sub.lag(1)).toThrow('no transition catchup → lagging');
    sub.goLive();
    expect(() => sub.goLive()).toThrow('no transition live → live');
    expect(() => sub.catchUp()).toThrow('no transition live → catchup');
    sub.lag(42);
    expect(sub.laggingFrom).toBe(42);
    expect(() => sub.goLive()).toThrow('no transition lagging → live');
    sub.catchUp();
    sub.goLive();
    expect(sub.mode).toBe('live');
  });

  it('goes back to idle with a new generation on every subscription, and refuses transitions after close', () => {
    const sub = new Subscriber(new FakeOutlet(new FakeServer()));
    const g1 = sub.resubscribe(filter({ level: 'warn' }));
    sub.goLive();
    const g2 = sub.resubscribe(filter({ service: 'web' }));
    expect(sub.mode).toBe('idle');
    expect(sub.filter.services).toEqual(['web']);
    expect(sub.current(g1)).toBe(false);
    expect(sub.current(g2)).toBe(true);
    sub.close();
    expect(sub.current(g2)).toBe(false);
    expect(() => sub.goLive()).toThrow('after close');
  });
});

describe('live core', () => {
  it('hello, then idle → live without since: only matching rows published after the subscription', async () => {
    const c = core(4);
    const { outlet, sub } = c.connect();
    expect(outlet.frames[0]).toEqual({ type: 'hello', head: 40, version: 1 });
    await c.subs.subscribe(sub, filter({ level: 'warn' }), undefined);
    expect(sub.mode).toBe('live');
    expect(outlet.topics.size).toBe(1);
    const rows = c.feed.commit(6, (i) => ({ level: i % 2 ? 'error' : 'info' }));
    expect(outlet.ids()).toEqual(idsOf(rows).filter((_, i) => i % 2));
  });

  it('idle → catchup → live with since: stored matches after since, then live ones, none missing or twice', async () => {
    const c = core(20);
    const { outlet, sub } = c.connect();
    const done = c.subs.subscribe(sub, filter({ q: 'ROW' }), 55);
    expect(sub.mode).toBe('catchup');
    await done;
    expect(sub.mode).toBe('live');
    const live = c.feed.commit(3);
    expect(outlet.ids()).toEqual([...c.table.rows.filter((r) => r.id > 55 && r.id <= 200).map((r) => r.id), ...idsOf(live)]);
  });

  it('a replay that the head overtakes reads on to the new head before it joins: no gap, no duplicate', async () => {
    const c = core(12);
    const { outlet, sub } = c.connect();
    // Rows committed while the replay reads: published to groups the subscriber is not in yet.
    let commits = 0;
    const race = () => {
      c.feed.commit(4);
      if (++commits < 3) c.reads.during = race;
    };
    c.reads.during = race;
    await c.subs.subscribe(sub, filter(), 0);
    expect(commits).toBe(3);
    const after = c.feed.commit(2);
    expect(outlet.ids()).toEqual([...idsOf(c.table.rows.slice(0, -2)), ...idsOf(after)]);
  });

  it('a newer subscription or a close stops a replay: nothing of the old one is sent after it', async () => {
    const c = core(30);
    const { outlet, sub } = c.connect();
    const first = c.subs.subscribe(sub, filter({ service: 'api' }), 0);
    await sleep(0);
    const second = c.subs.subscribe(sub, filter({ service: 'web' }), undefined);
    await Promise.all([first, second]);
    expect(sub.mode).toBe('live');
    const sentBefore = outlet.ids().length;
    expect(sentBefore).toBeLessThan(30);
    c.feed.commit(3, () => ({ service: 'api' }));
    const web = c.feed.commit(2, () => ({ service: 'web' }));
    expect(outlet.ids().slice(sentBefore)).toEqual(idsOf(web));

    const other = c.connect();
    const replay = c.subs.subscribe(other.sub, filter(), 0);
    await sleep(0);
    c.close(other);
    await replay;
    const frames = other.outlet.frames.length;
    c.feed.commit(2);
    expect(other.outlet.frames.length).toBe(frames);
    expect(c.fanout.liveCount).toBe(1);
  });

  it('live → lagging on the scan: taken off the topic from the row after the last one it was sent', async () => {
    const c = core();
    const { outlet, sub } = c.connect();
    await c.subs.subscribe(sub, filter(), undefined);
    const sent = c.feed.commit(2); // ~230 bytes: over softLimit / 8, so the scan checks the group
    outlet.buffered = SOFT_LIMIT + 1;
    c.subs.scan();
    expect(sub.mode).toBe('lagging');
    expect(sub.laggingFrom).toBe(sent[1]!.id + 1);
    expect(outlet.topics.size).toBe(0);
    expect(c.fanout.liveCount).toBe(0);
    c.feed.commit(3);
    expect(outlet.ids()).toEqual(idsOf(sent));
  });

  it('a group sent nothing since its last check is not scanned again: its slow member stays until more is sent', async () => {
    const c = core();
    const { outlet, sub } = c.connect();
    await c.subs.subscribe(sub, filter(), undefined);
    c.feed.commit(2);
    c.subs.scan();
    outlet.buffered = SOFT_LIMIT + 1;
    c.subs.scan();
    expect(sub.mode).toBe('live');
    c.feed.commit(2);
    c.subs.scan();
    expect(sub.mode).toBe('lagging');
  });

  it('live → lagging during a publish that would take a slow member past the soft limit, with the exact range', async () => {
    const c = core();
    const fast = c.connect();
    const slow = c.connect();
    await c.subs.subscribe(fast.sub, filter(), undefined);
    await c.subs.subscribe(slow.sub, filter(), undefined);
    slow.outlet.buffered = SOFT_LIMIT + 1;
    // 12 rows of ~115 bytes: frames of 4 rows (half the soft limit), the third frame crosses the soft limit.
    const rows = c.feed.commit(12);
    expect(fast.outlet.ids()).toEqual(idsOf(rows));
    const got = slow.outlet.ids();
    expect(got).toEqual(idsOf(rows).slice(0, got.length));
    expect(got.length).toBeLessThan(rows.length);
    expect(slow.sub.mode).toBe('lagging');
    expect(slow.sub.laggingFrom).toBe(got[got.length - 1]! + 1);
    expect(fast.sub.mode).toBe('live');
  });

  it('lagging → catchup → live once drained: one dropped frame with the exact count and range, then live rows', async () => {
    const c = core();
    const { outlet, sub } = c.connect();
    await c.subs.subscribe(sub, filter({ level: 'warn' }), undefined);
    const sent = c.feed.commit(6, () => ({ level: 'error' }));
    outlet.buffered = SOFT_LIMIT + 1;
    c.subs.scan();
    expect(sub.mode).toBe('lagging');
    const skipped = c.feed.commit(30, (i) => ({ level: i % 3 === 0 ? 'warn' : 'debug' }));
    outlet.buffered = SOFT_LIMIT / 2;
    c.subs.drained(sub);
    expect(sub.mode).toBe('catchup');
    await until('live again', () => sub.mode === 'live');
    const matched = skipped.filter((_, i) => i % 3 === 0);
    expect(outlet.dropped()).toEqual([{ type: 'dropped', count: matched.length, from: sent[5]!.id + 1, to: skipped[29]!.id }]);
    const after = c.feed.commit(2, () => ({ level: 'fatal' }));
    expect(outlet.ids()).toEqual([...idsOf(sent), ...idsOf(after)]);
  });

  it('a client that drains only part way stays lagging; the scan recovers it once it is under half the soft limit', async () => {
    const c = core();
    const { outlet, sub } = c.connect();
    await c.subs.subscribe(sub, filter(), undefined);
    c.feed.commit(3);
    outlet.buffered = SOFT_LIMIT + 1;
    c.subs.scan();
    c.feed.commit(4);
    outlet.buffered = SOFT_LIMIT / 2 + 1;
    c.subs.drained(sub);
    c.subs.scan();
    expect(sub.mode).toBe('lagging');
    outlet.buffered = 0;
    c.subs.scan();
    expect(sub.mode).toBe('catchup');
    // A drain event during the recovery does not start a second one.
    c.subs.drained(sub);
    await until('live again', () => sub.mode === 'live');
    expect(outlet.dropped()).toHaveLength(1);
    expect(outlet.dropped()[0]!.count).toBe(4);
  });

  it('rows committed while a drained client is being counted: contiguous dropped ranges up to the head it joins at', async () => {
    const c = core();
    const { outlet, sub } = c.connect();
    await c.subs.subscribe(sub, filter(), undefined);
    const sent = c.feed.commit(2);
    outlet.buffered = SOFT_LIMIT + 1;
    c.subs.scan();
    const skipped = c.feed.commit(12);
    let extra: LiveRow[] = [];
    c.reads.during = () => (extra = c.feed.commit(4));
    outlet.buffered = 0;
    c.subs.drained(sub);
    await until('live again', () => sub.mode === 'live');
    const after = c.feed.commit(3);
    const dropped = outlet.dropped();
    expect(dropped).toEqual([
      { type: 'dropped', count: 12, from: sent[1]!.id + 1, to: skipped[11]!.id },
      { type: 'dropped', count: 4, from: skipped[11]!.id + 1, to: extra[3]!.id },
    ]);
    // Every id once: sent, or inside a dropped range, or sent after rejoining.
    const covered = [...outlet.ids(), ...c.table.rows.filter((r) => dropped.some((d) => r.id >= d.from && r.id <= d.to)).map((r) => r.id)].sort((a, b) => a - b);
    expect(covered).toEqual(idsOf(c.table.rows));
    expect(outlet.ids().slice(-3)).toEqual(idsOf(after));
  });

  it('a lagging client that nothing matched in the meantime rejoins without a dropped frame', async () => {
    const c = core();
    const { outlet, sub } = c.connect();
    await c.subs.subscribe(sub, filter({ service: 'web' }), undefined);
    c.feed.commit(3, () => ({ service: 'web' }));
    outlet.buffered = SOFT_LIMIT + 1;
    c.subs.scan();
    c.feed.commit(5, () => ({ service: 'api' }));
    outlet.buffered = 0;
    c.subs.scan();
    await until('live again', () => sub.mode === 'live');
    expect(outlet.dropped()).toEqual([]);
  });

  it('a replay waits while the client is over the soft limit and goes on when it reads', async () => {
    const c = core(12);
    const { outlet, sub } = c.connect();
    outlet.buffered = SOFT_LIMIT + 1;
    const done = c.subs.subscribe(sub, filter(), 0);
    await sleep(20);
    expect(outlet.ids()).toEqual([]);
    outlet.buffered = 0;
    await done;
    expect(outlet.ids()).toEqual(idsOf(c.table.rows));
  });

  it('since ahead of every row: an error frame, then live from the head', async () => {
    const c = core(3);
    const { outlet, sub } = c.connect();
    await c.subs.subscribe(sub, filter(), 1_000);
    expect(outlet.errors().map((e) => e.error)).toEqual(['cursor_ahead']);
    expect(sub.mode).toBe('live');
    const rows = c.feed.commit(2);
    expect(outlet.ids()).toEqual(idsOf(rows));
  });

  it('rows after since that retention dropped: a retention dropped frame, then the replay from after them', async () => {
    const c = core(10);
    c.reads.retention = { from: 1, to: 50, count: 5 };
    const { outlet, sub } = c.connect();
    await c.subs.subscribe(sub, filter(), 20);
    expect(outlet.dropped()).toEqual([{ type: 'dropped', count: 5, from: 21, to: 50, reason: 'retention' }]);
    expect(outlet.ids()).toEqual([60, 70, 80, 90, 100]);
  });

  it('the database gone during a replay or a recovery: an unavailable error and the connection closed', async () => {
    const c = core(5);
    const a = c.connect();
    c.reads.fail = true;
    await c.subs.subscribe(a.sub, filter(), 0);
    expect(a.outlet.errors().map((e) => e.error)).toEqual(['unavailable']);
    expect(a.outlet.ended?.code).toBe(1011);

    c.reads.fail = false;
    const b = c.connect();
    await c.subs.subscribe(b.sub, filter(), undefined);
    c.feed.commit(2);
    b.outlet.buffered = SOFT_LIMIT + 1;
    c.subs.scan();
    c.feed.commit(3);
    c.reads.fail = true;
    b.outlet.buffered = 0;
    c.subs.drained(b.sub);
    await until('closed', () => b.outlet.ended !== undefined);
    expect(b.outlet.errors().map((e) => e.error)).toEqual(['unavailable']);
  });

  it('subscribers with equal filters share one topic, and the last one to leave removes it', async () => {
    const c = core();
    const a = c.connect();
    const b = c.connect();
    await c.subs.subscribe(a.sub, filter({ q: 'Timeout' }), undefined);
    await c.subs.subscribe(b.sub, filter({ q: 'timeout' }), undefined);
    expect([...a.outlet.topics]).toEqual([...b.outlet.topics]);
    const rows = c.feed.commit(4, (i) => ({ message: i % 2 ? 'a TIMEOUT here' : 'fine' }));
    expect(a.outlet.ids()).toEqual(idsOf(rows).filter((_, i) => i % 2));
    expect(b.outlet.ids()).toEqual(a.outlet.ids());
    expect(c.fanout.liveCount).toBe(2);
    c.close(a);
    const later = c.feed.commit(1, () => ({ message: 'timeout again' }));
    expect(b.outlet.ids().slice(-1)).toEqual(idsOf(later));
    expect(a.outlet.ids()).toHaveLength(2);
    c.close(b);
    expect(c.fanout.liveCount).toBe(0);
  });
});

describe('live feed', () => {
  class Reads implements FeedReads {
    probes = 0;
    fetches: number[] = [];
    constructor(private readonly table: Table) {}
    async headId(): Promise<number> {
      this.probes++;
      return this.table.head;
    }
    async rowsAfter(after: number): Promise<RowPage> {
      this.fetches.push(after);
      const rows = this.table.rows.filter((r) => r.id > after);
      return { rows: rows.slice(0, PAGE), more: rows.length > PAGE };
    }
  }

  it('with nobody live only probes the head; with a subscriber it fetches pages after the head and publishes them', async () => {
    const table = new Table();
    table.add(2);
    const published: number[] = [];
    const sink = { liveCount: 0, publish: (rows: readonly LiveRow[]) => void published.push(...rows.map((r) => r.id)) };
    const reads = new Reads(table);
    const feed = new Feed(reads, sink, { log: quiet, metrics });
    await feed.start(0);
    expect(feed.head).toBe(20);
    table.add(3);
    feed.requestFetch();
    await until('head 50', () => feed.head === 50);
    expect(reads.fetches).toEqual([]);
    expect(published).toEqual([]);

    sink.liveCount = 1;
    const heads: number[] = [];
    feed.onHead((h) => heads.push(h));
    table.add(7);
    expect(await feed.waitForHead(120, 5_000)).toBe(true);
    expect(published).toEqual([60, 70, 80, 90, 100, 110, 120]);
    expect(reads.fetches).toEqual([50, 80, 110]);
    expect(heads).toEqual([80, 110, 120]);
    expect(await feed.waitForHead(500, 20)).toBe(false);
    feed.stop();
  });
});
