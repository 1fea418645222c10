// GET /stats against a real gateway process and rows stored with the processor's own insert statement (so the
// rollup triggers of migration 002 run exactly as in production).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEVELS, LEVEL_VALUES, type LevelName } from '@logstream/shared/levels.js';
import { storeRows } from '../../processor/src/store-batch.js';
import { startService, stopAll, type Service } from '../../test/helpers/services.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/test-env.js';
import { parseStatsQuery, queryStats } from '../src/stats-query.js';

let t: TestEnv;
let gateway: Service;
let seq = 0;

interface Sent {
  eid: string;
  ts: number;
  level: LevelName;
  service: string;
  message: string;
}

async function store(rows: (Omit<Sent, 'eid'> & { eid?: string })[]): Promise<void> {
  const json = rows.map((r) => ({ sid: `0-${++seq}`, eid: r.eid ?? randomUUID(), ts: r.ts, rt: Date.now(), level: LEVEL_VALUES[r.level], service: r.service, message: r.message, attributes: {} }));
  await storeRows(t.pool, JSON.stringify(json), t.channel);
}

async function stats(query: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gateway.url}/stats?${query}`);
  return { status: res.status, body: await res.json() };
}

// A deterministic spread of rows over the last 50 minutes: every level, three services, two messages.
const now = Date.now();
const sent: Sent[] = Array.from({ length: 3000 }, (_, i) => ({
  eid: randomUUID(),
  ts: now - 5_000 - ((i * 997) % (50 * 60_000)),
  level: LEVELS[(i * 7) % 6]!,
  service: ['api', 'web', 'worker'][i % 3]!,
  message: i % 5 === 0 ? `timeout after ${i} ms` : `GET /item/${i} 200`,
}));

function expected(filter: (s: Sent) => boolean, from: number, to: number) {
  const rows = sent.filter((s) => s.ts >= from && s.ts < to && filter(s));
  const byLevel = Object.fromEntries(LEVELS.map((l) => [l, rows.filter((r) => r.level === l).length]));
  const byService: Record<string, number> = {};
  for (const r of rows) byService[r.service] = (byService[r.service] ?? 0) + 1;
  return { total: rows.length, byLevel, byService };
}

beforeAll(async () => {
  t = await createTestEnv('stats');
  // Exact counts are checked here, whatever the machine's load: a text search gets all the time it needs (the
  // budget itself is stats-budget.test.ts's subject).
  gateway = await startService('gateway', { ...t.env, SEARCH_BUDGET_MS: '10000' });
  for (let i = 0; i < sent.length; i += 500) await store(sent.slice(i, i + 500));
  // A redelivered batch (same stream and event ids) must not be counted again.
  seq -= 500;
  await store(sent.slice(sent.length - 500));
});

afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

describe('GET /stats', () => {
  it('counts by level, service and bucket what was stored (minute rollup)', async () => {
    const { status, body } = await stats('window=1h&bucket=1m');
    expect(status).toBe(200);
    expect(body.source).toBe('rollup_minute');
    expect(body.buckets).toHaveLength(60);
    const from = Date.parse(body.from);
    const to = Date.parse(body.to);
    expect(to - from).toBe(60 * 60_000);
    const e = expected(() => true, from, to);
    expect(e.total).toBe(3000);
    expect(body.total).toBe(e.total);
    expect(body.by_level).toEqual(e.byLevel);
    expect(body.by_service).toEqual(e.byService);
    expect(body.head).toBe(Number((await t.pool.query('SELECT max(id) AS m FROM logs')).rows[0].m));
    expect(body.top_services[0].count).toBe(Math.max(...Object.values(e.byService)));
    // Every bucket holds exactly the rows whose timestamp falls in it.
    for (const b of body.buckets) {
      const start = Date.parse(b.start);
      const eb = expected(() => true, start, start + 60_000);
      expect(b.total).toBe(eb.total);
      expect(b.counts).toEqual(eb.byLevel);
    }
  });

  it('gives the same answer from the rows themselves (sub-minute buckets) and from the hour rollup', async () => {
    const minute = (await stats('window=30m&bucket=1m&service=api,web&level=warn')).body;
    const raw = (await stats('window=30m&bucket=30s&service=api,web&level=warn')).body;
    expect(raw.source).toBe('logs');
    const e = expected((s) => ['api', 'web'].includes(s.service) && LEVEL_VALUES[s.level] >= 40, Date.parse(raw.from), Date.parse(raw.to));
    expect(raw.total).toBe(e.total);
    expect(raw.by_level).toEqual(e.byLevel);
    expect(raw.by_service).toEqual(e.byService);
    expect(minute.by_service).toEqual(expected((s) => ['api', 'web'].includes(s.service) && LEVEL_VALUES[s.level] >= 40, Date.parse(minute.from), Date.parse(minute.to)).byService);

    const hour = (await stats('window=1d&bucket=1h')).body;
    expect(hour.source).toBe('rollup_hour');
    expect(hour.buckets).toHaveLength(24);
    expect(hour.total).toBe(3000);
  });

  it('filters by text with q (case-insensitive) and reports events per second now', async () => {
    const { body } = await stats('window=1h&q=TIMEOUT');
    expect(body.source).toBe('logs');
    const e = expected((s) => s.message.includes('timeout'), Date.parse(body.from), Date.parse(body.to));
    expect(body.total).toBe(e.total);
    expect(body.total).toBeGreaterThan(0);
    const recent = sent.filter((s) => s.ts > Date.now() - 10_000).length;
    const all = (await stats('window=5m')).body;
    // Rows age while the test runs: the rate can only have dropped since `recent` was counted.
    expect(all.events_per_second).toBeLessThanOrEqual(recent / 10);
    expect(all.rate_span_s).toBe(10);
    // Three rows stamped now (another service, so the other tests' sums hold) raise it by 0.3.
    await store([0, 1, 2].map((i) => ({ ts: Date.now(), level: 'info' as const, service: 'rate', message: `now ${i}` })));
    expect((await stats('window=5m&service=rate')).body.events_per_second).toBeCloseTo(0.3, 5);
  });

  it('counts a text search newest bucket first and, out of time, says which buckets it counted', async () => {
    const query = parseStatsQuery(new Map([['window', '1h'], ['bucket', '5m'], ['q', 'timeout']]));
    const at = Date.now();
    const isTimeout = (s: Sent) => s.message.includes('timeout');
    // No time at all: not even the newest bucket is counted (parameters cannot buy more than the budget), and the
    // answer says so.
    const none = await queryStats(t.pool, query, at, 0);
    expect(none).toMatchObject({ complete: false, counted_from: none.to, total: 0 });
    expect(none.head).toBeGreaterThan(0);
    expect(none.buckets.every((b) => b.total === 0)).toBe(true);
    // Time to spare: every bucket, the same answer as one statement over the window, in slices or not.
    const whole = await queryStats(t.pool, query, at, 60_000);
    expect(whole.complete).toBe(true);
    expect(whole.counted_from).toBe(whole.from);
    const all = expected(isTimeout, Date.parse(whole.from), Date.parse(whole.to));
    expect(whole.total).toBe(all.total);
    expect(whole.by_service).toEqual(all.byService);
    expect(whole.buckets.map((b) => b.total)).toEqual(
      whole.buckets.map((b) => expected(isTimeout, Date.parse(b.start), Date.parse(b.start) + 5 * 60_000).total),
    );
    // Budgets that run out part-way (a slice cut off by its statement timeout is not counted at all): whatever was
    // counted is exact for the buckets from counted_from on.
    for (const budget of [1, 2, 5, 10, 20]) {
      const r = await queryStats(t.pool, query, at, budget);
      const want = expected(isTimeout, Date.parse(r.counted_from), Date.parse(r.to));
      expect(r.total, `budget ${budget} ms, counted from ${r.counted_from}`).toBe(want.total);
      expect(r.by_service).toEqual(want.byService);
      expect(r.complete).toBe(r.counted_from === r.from);
    }
    // Without q the rollups answer in one go, whatever the budget.
    expect((await queryStats(t.pool, parseStatsQuery(new Map([['window', '1h']])), at, 0)).complete).toBe(true);
  });

  it('picks default windows and buckets', async () => {
    const d = (await stats('')).body;
    expect(d.window).toBe('15m');
    expect(d.buckets.length).toBeLessThanOrEqual(60);
    expect((await stats('window=30d')).body.buckets.length).toBeLessThanOrEqual(60);
    expect((await stats('window=1m')).body.bucket).toBe('1s');
  });

  it('keeps counts exact when rows are deleted', async () => {
    const before = (await stats('window=1h&service=worker')).body.total;
    const { rowCount } = await t.pool.query(`DELETE FROM logs WHERE service = 'worker' AND level = 30`);
    const after = (await stats('window=1h&service=worker')).body;
    expect(rowCount).toBeGreaterThan(0);
    expect(after.total).toBe(before - rowCount!);
    expect(after.by_level.info).toBe(0);
  });

  it.each([
    ['window=0m', 'window'],
    ['window=31d', 'window'],
    ['window=30s', 'window'],
    ['window=abc', 'window'],
    ['window=1h&bucket=0s', 'bucket'],
    ['window=1h&bucket=2h', 'bucket'],
    ['window=30d&bucket=1m', 'at most 500'],
    ['level=loud', 'level'],
    ['service=bad%20name', 'service'],
  ])('answers 400 to %s', async (query, word) => {
    const { status, body } = await stats(query);
    expect(status).toBe(400);
    expect(body.error).toBe('bad_request');
    expect(body.message).toContain(word);
  });
});
