// Reads over packed partitions (issue 15 point 6, gateway/src/sql/logs-source.ts): once closed partitions are packed
// (logs_pack_build + logs_pack_swap, migrations 018-021) and their rows are gone from `logs`, every read without a
// text search answers exactly as before: GET /logs pages in both directions, with each filter and time bounds, paged
// to the end by next_before and by after; GET /logs/<id> and /logs/<event id>; /stats counted from rows; /fields;
// /live?since= replay. Queries are drawn at random (fast-check) over rows in three partitions, two of them packed and
// the third and a hot one stored as rows, so that pages cross the packed/row boundary. Partitions of 2 seconds.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLive } from './helpers/live-client.js';
import { lettersMessage, seed } from './helpers/seed.js';
import { startService, stopAll, type Service } from './helpers/services.js';
import { createTestEnv, sleep, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
let gateway: Service;
let ids: number[] = [];
let parts: string[] = [];
const PER_PARTITION = 230;
const SERVICES = ['api', 'web', 'auth'];
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const base = Date.now() - 20 * 60_000;

const nextPartition = () => sleep(2_000 - (Date.now() % 2_000) + 150);

beforeAll(async () => {
  t = await createTestEnv('packed_reads', { partitions: false });
  await t.pool.query(`UPDATE logs_storage_settings SET partition_interval = '2 seconds'`);
  await t.pool.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  // Four partitions: three to close (two of them packed below), then the hot one.
  for (let p = 0; p < 4; p++) {
    await nextPartition();
    const n = p < 3 ? PER_PARTITION : 40;
    ids.push(
      ...(await seed(
        t.pool,
        t.channel,
        Array.from({ length: n }, (_, k) => {
          const i = p * PER_PARTITION + k;
          return {
            message: lettersMessage(i, ['a', 'b', 'c', ' ']),
            level: [10, 20, 30, 30, 40, 50, 60][i % 7],
            service: SERVICES[i % 3],
            // Timestamps are the client's: not in id order, spread over 15 minutes.
            ts: base + ((i * 7919) % 900_000),
            attributes: i % 4 === 0 ? {} : { host: `h${i % 5}`, n: i },
          };
        }),
      )),
    );
    if (p < 3) parts.push((await t.pool.query<{ p: string }>('SELECT tableoid::regclass::text AS p FROM logs WHERE id = $1', [ids.at(-1)])).rows[0]!.p);
  }
  await nextPartition();
  await t.pool.query('SELECT logs_close_partitions()');
  gateway = await startService('gateway', { ...t.env, POLL_INTERVAL_MS: '200' });
}, 120_000);
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

const get = async (path: string) => {
  const res = await fetch(`${gateway.url}${path}`);
  return { status: res.status, body: await res.json() };
};

/** Every page of `query`, following next_before (or after for `after` pages) to the end: the items in order. */
async function walk(query: string, after: boolean): Promise<unknown[]> {
  const items: unknown[] = [];
  let cursor = '';
  for (let i = 0; i < 200; i++) {
    const { status, body } = await get(`/logs?${query}${cursor}`);
    expect(status).toBe(200);
    items.push(...body.items);
    if (after) {
      if (body.items.length === 0) return items;
      cursor = `&after=${body.items.at(-1).id}`;
    } else {
      if (body.next_before == null) return items;
      cursor = `&before=${body.next_before}`;
    }
  }
  throw new Error(`no end to the pages of ${query}`);
}

const iso = (ms: number) => new Date(ms).toISOString();
const query = fc
  .record({
    service: fc.option(fc.constantFrom(...SERVICES), { nil: undefined }),
    level: fc.option(fc.constantFrom(...LEVELS), { nil: undefined }),
    host: fc.option(fc.constantFrom('h1', 'h3'), { nil: undefined }),
    since: fc.option(fc.integer({ min: 0, max: 900_000 }), { nil: undefined }),
    span: fc.option(fc.integer({ min: 1_000, max: 600_000 }), { nil: undefined }),
    limit: fc.constantFrom(1, 7, 50, 301, 1000),
    after: fc.boolean(),
  })
  .map((r) => {
    const p = [`limit=${r.limit}`];
    if (r.service) p.push(`service=${r.service}`);
    if (r.level) p.push(`level=${r.level}`);
    if (r.host) p.push(`attr.host=${r.host}`);
    if (r.since !== undefined) p.push(`since=${iso(base + r.since)}`);
    if (r.since !== undefined && r.span !== undefined) p.push(`until=${iso(base + r.since + r.span)}`);
    if (r.after) p.push('after=0');
    return { q: p.join('&'), after: r.after };
  });

describe('reads over packed partitions', () => {
  it('answer as they did before the partitions were packed', async () => {
    const queries = fc.sample(query, { numRuns: 40, seed: 15 });
    const probes = [ids[3]!, ids[PER_PARTITION + 10]!, ids.at(-1)!];
    const eventIds = (await t.pool.query<{ e: string }>('SELECT event_id::text AS e FROM logs WHERE id = ANY($1) ORDER BY id', [probes])).rows.map((r) => r.e);
    const read = async () => ({
      pages: await Promise.all(queries.map(({ q, after }) => walk(q, after))),
      byId: await Promise.all(probes.map((id) => get(`/logs/${id}`))),
      byEventId: await Promise.all(eventIds.map((e) => get(`/logs/${e}`))),
      stats: await Promise.all(['window=30m&bucket=10s&attr.host=h1', 'window=30m&bucket=30s&service=web&attr.host=h3'].map((s) => get(`/stats?${s}`))),
      fields: await Promise.all(['window=30m', 'window=30m&service=auth'].map((s) => get(`/fields?${s}`))),
    });
    const before = await read();
    expect(before.pages.some((p) => p.length > 150)).toBe(true);
    expect(before.byId.every((r) => r.status === 200)).toBe(true);

    for (const p of parts.slice(0, 2)) {
      await t.pool.query('SELECT logs_pack_build($1)', [p]);
      await t.pool.query('SELECT logs_pack_swap($1)', [p]);
    }
    // The rows of the first two partitions are in packed batches only.
    expect((await t.pool.query('SELECT count(*)::int AS n FROM logs')).rows[0].n).toBe(ids.length - 2 * PER_PARTITION);
    expect((await t.pool.query('SELECT sum(row_count)::int AS n FROM logs_packed')).rows[0].n).toBe(2 * PER_PARTITION);

    const after = await read();
    // The window moves with the clock: what is compared is what it counted (the rows lie well inside it).
    const counts = (r: { body: any }[]) =>
      r.map(({ body: b }) => ({ source: b.source, total: b.total, by_level: b.by_level, by_service: b.by_service, buckets: b.buckets.filter((k: any) => k.total > 0) }));
    const sample = (r: { body: any }[]) => r.map(({ body: b }) => ({ rows: b.rows, fields: b.fields }));
    expect(after.pages).toEqual(before.pages);
    expect(after.byId).toEqual(before.byId);
    expect(after.byEventId).toEqual(before.byEventId);
    expect(counts(before.stats).every((c) => c.source === 'logs' && c.total > 0)).toBe(true);
    expect(counts(after.stats)).toEqual(counts(before.stats));
    expect(sample(before.fields).every((f) => f.rows > 0)).toBe(true);
    expect(sample(after.fields)).toEqual(sample(before.fields));
    // Every row once, in order, newest first.
    const all = (await walk('limit=97', false)).map((i: any) => i.id);
    expect(all).toEqual([...ids].reverse());
  }, 120_000);

  it('replays /live since= across packed and row partitions, every row once', async () => {
    const live = await connectLive(gateway.url, `since=${ids[0]! - 1}`);
    await live.waitForIds(ids.length);
    await live.close();
    expect(live.ids.slice(0, ids.length)).toEqual(ids);
    // A filtered replay.
    const web = await connectLive(gateway.url, `since=0&service=web&level=warn`);
    const expected = (await t.pool.query<{ id: number }>(`SELECT r.id FROM (SELECT * FROM logs UNION ALL SELECT r.* FROM logs_packed b CROSS JOIN LATERAL logs_unpack(b.ids, b.stream_ids, b.event_ids, b.timestamps, b.received_ats, b.levels, b.services, b.messages, b.attrs) r) r WHERE service = 'web' AND level >= 40 ORDER BY id`)).rows.map((r) => Number(r.id));
    expect(expected.length).toBeGreaterThan(20);
    await web.waitForIds(expected.length);
    await web.close();
    expect(web.ids.slice(0, expected.length)).toEqual(expected);
  }, 60_000);
});
