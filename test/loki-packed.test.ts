// The Loki API over packed partitions (issue 15 point 6): the same requests Grafana's Loki data source sends (as in
// loki-compat.test.ts: query_range log queries in both directions with limits, metric queries, instant queries,
// labels, label values, series, index stats, a tail's replay) answer the same before and after the partitions that
// held most of the rows are packed (logs_pack_build, logs_pack_swap: their rows leave logs). The rows' timestamps
// interleave across the three partitions (two packed, one still rows) and a group of rows shares one timestamp, so
// every answer crosses a packed/row boundary in time and in ids; limits cut inside that group. Partitions of 2 s.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed, type SeedEvent } from './helpers/seed.js';
import { startService, stopAll, waitUntilReady, type Service } from './helpers/services.js';
import { createTestEnv, sleep, waitFor, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
const MIN = 60_000;
const BASE = Math.floor(Date.now() / MIN) * MIN - 40 * MIN;
/** The shared timestamp of every 40th row, in the middle of the range. */
const TIE = BASE + 15 * MIN;
const PER_PARTITION = 250;
const parts: string[] = [];
const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;
const window = { start: ns(BASE - MIN), end: ns(BASE + 32 * MIN) };

function event(k: number, i: number): SeedEvent {
  const n = k * PER_PARTITION + i;
  const kind = n % 5;
  return {
    message:
      kind === 0 ? `GET /pay/${n} timeout`
      : kind === 1 ? JSON.stringify({ status: [200, 500, 503][n % 3], path: `/j/${n % 4}` })
      : kind === 2 ? `POST /item/${n} 201`
      : `GET /item/${n} 200`,
    level: [30, 30, 40, 50, 60, 20][n % 6],
    service: ['api', 'web', 'billing'][n % 3],
    // Spread over 30 minutes whatever the partition (7919 is prime to 1800), every 40th on TIE.
    ts: n % 40 === 0 ? TIE : BASE + ((n * 7919) % 1800) * 1000 + (n % 7),
    attributes: n % 8 === 0 ? {} : { host: `web-${n % 3}`, ...(n % 2 ? { zone: `z${n % 4}` } : {}) },
  };
}

beforeAll(async () => {
  t = await createTestEnv('loki_packed', { partitions: false });
  await t.pool.query(`UPDATE logs_storage_settings SET partition_interval = '2 seconds'`);
  await t.pool.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  // Three partitions: each batch of rows committed within its own 2-second interval.
  for (let k = 0; k < 3; k++) {
    await sleep(2_000 - (Date.now() % 2_000) + 150);
    const ids = await seed(t.pool, t.channel, Array.from({ length: PER_PARTITION }, (_, i) => event(k, i)));
    parts.push((await t.pool.query<{ p: string }>('SELECT tableoid::regclass::text AS p FROM logs WHERE id = $1', [ids[0]])).rows[0]!.p);
  }
  expect(new Set(parts).size).toBe(3);
  await sleep(2_000 - (Date.now() % 2_000) + 150);
  await t.pool.query('SELECT logs_close_partitions()');
}, 60_000);
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

async function get(gateway: Service, path: string, params: Record<string, string | string[]>) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) qs.append(k, x);
  const res = await fetch(`${gateway.url}${path}?${qs}`, { headers: { 'X-Query-Tags': 'Source=grafana' } });
  const body = (await res.json()) as any;
  expect(res.status, `${path} ${qs}: ${JSON.stringify(body).slice(0, 300)}`).toBe(200);
  return body;
}

/** An answer without what depends on the run (stats: times and rates). */
function answer(body: any): unknown {
  if (Array.isArray(body?.data)) return body.data.map((x: unknown) => JSON.stringify(x)).sort();
  if (body?.data?.result) return { resultType: body.data.resultType, result: body.data.result };
  return body;
}

async function tailLines(gateway: Service, query: string, startNs: string, expected: number): Promise<string[]> {
  const ws = new WebSocket(`${gateway.url.replace(/^http/, 'ws')}/loki/api/v1/tail?${new URLSearchParams({ query, start: startNs, limit: '1000', delay_for: '0' })}`);
  const lines: string[] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    for (const s of frame.streams) for (const [at, line] of s.values) lines.push(`${at} ${line}`);
    expect(frame.dropped_entries).toEqual([]);
  });
  await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
  await waitFor(`${expected} tail entries`, () => lines.length >= expected).catch((err) => {
    throw new Error(`${(err as Error).message} (${lines.length} came)`);
  });
  await sleep(300); // nothing more (no doubles) arrives
  await new Promise<void>((resolve) => (ws.once('close', () => resolve()), ws.close()));
  return lines;
}

/** Every request of the test, answered by `gateway`. */
async function answers(gateway: Service, tieLimit: number, totalRows: number, tailExpected: number): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const logQueries: [string, string, number][] = [
    ['{service="api"}', 'backward', 7],
    ['{service="api"}', 'forward', 7],
    ['{service="api"}', 'backward', 1000],
    ['{service=~"api|web", level!="info"} |= "GET"', 'backward', 25],
    ['{service=~"api|web", level!="info"} |= "GET"', 'forward', 25],
    ['{level=~"error|fatal"}', 'forward', 1000],
    ['{service="api"} != "timeout" |~ "item/[0-9]+"', 'backward', 40],
    ['{service!="api", host="web-1"}', 'backward', 30],
    ['{service=~".+"} | json | status >= 500', 'forward', 60],
    ['{service=~".+"} |= "timeout"', 'forward', 5000],
    // Cut inside the group of rows on TIE, in either direction.
    ['{service=~".+"}', 'backward', tieLimit],
    ['{service=~".+"}', 'forward', totalRows - tieLimit],
    ['{service=~".+"}', 'forward', 5000],
  ];
  for (const [query, direction, limit] of logQueries) {
    out[`log ${query} ${direction} ${limit}`] = answer(await get(gateway, '/loki/api/v1/query_range', { query, direction, limit: String(limit), ...window, step: '2000ms' }));
  }
  // A window that starts and ends inside the group on TIE (ns timestamps below the µs: id % 1000).
  out['log tie window'] = answer(await get(gateway, '/loki/api/v1/query_range', { query: '{service=~".+"}', direction: 'forward', limit: '100', start: ns(TIE), end: String(BigInt(ns(TIE)) + 1000n) }));
  const metrics = [
    ['sum by (host) (count_over_time({service="api"} |= "GET" [1m]))', '60000ms'],
    ['rate({service=~"api|web"} | json | status >= 500 [5m])', '60000ms'],
    ['bytes_over_time({level="error"}[10m])', '300000ms'],
    ['count_over_time({service="billing"}[1m])', '60000ms'],
    ['sum by (level) (count_over_time({service="api"}[1m]))', '60000ms'],
    ['topk(2, sum by (host) (count_over_time({service=~".+"} != "timeout" [10m])))', '120000ms'],
  ];
  for (const [query, step] of metrics) out[`metric ${query}`] = answer(await get(gateway, '/loki/api/v1/query_range', { query: query!, ...window, step: step! }));
  out.instant = answer(await get(gateway, '/loki/api/v1/query', { query: 'sum by (service) (count_over_time({service=~".+"} |= "timeout" [1h]))', time: ns(BASE + 35 * MIN) }));
  out.labels = answer(await get(gateway, '/loki/api/v1/labels', window));
  out.labelsOf = answer(await get(gateway, '/loki/api/v1/labels', { ...window, query: '{service="billing"} |= "GET"' }));
  out.hosts = answer(await get(gateway, '/loki/api/v1/label/host/values', { ...window, query: '{service="api", level="error"}' }));
  out.zones = answer(await get(gateway, '/loki/api/v1/label/zone/values', window));
  out.services = answer(await get(gateway, '/loki/api/v1/label/service/values', window));
  out.series = answer(await get(gateway, '/loki/api/v1/series', { ...window, 'match[]': ['{service="web"}', '{service="api"} |= "timeout"'] }));
  out.stats = answer(await get(gateway, '/loki/api/v1/index/stats', { ...window, query: '{service="api"} |= "GET"' }));
  out.tail = await tailLines(gateway, '{service=~"api|web"} |= "GET"', ns(BASE), tailExpected);
  return out;
}

describe('the Loki API over packed partitions', () => {
  it('answers the same before and after the partitions holding the rows are packed', async () => {
    const count = async (where: string) => (await t.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM logs WHERE ${where}`)).rows[0]!.n;
    const totalRows = await count('true');
    expect(totalRows).toBe(3 * PER_PARTITION);
    const tieRows = await count(`"timestamp" = to_timestamp(${TIE / 1000})`);
    expect(tieRows).toBeGreaterThan(10);
    const tieLimit = (await count(`"timestamp" > to_timestamp(${TIE / 1000})`)) + Math.floor(tieRows / 2);
    const tailExpected = await count(`service IN ('api', 'web') AND strpos(message, 'GET') > 0`);

    let gateway = await startService('gateway', t.env);
    await waitUntilReady(gateway);
    const before = await answers(gateway, tieLimit, totalRows, tailExpected);
    await gateway.stop();

    // Pack the first two partitions: their rows leave logs for logs_packed.
    for (const p of parts.slice(0, 2)) {
      await t.pool.query('SELECT logs_pack_build($1)', [p]);
      await t.pool.query('SELECT logs_pack_swap($1)', [p]);
    }
    expect(await count('true')).toBe(PER_PARTITION);
    expect((await t.pool.query<{ n: number }>('SELECT sum(row_count)::int AS n FROM logs_packed')).rows[0]!.n).toBe(2 * PER_PARTITION);

    // A new gateway: no label answer or sample is kept from the first.
    gateway = await startService('gateway', t.env);
    await waitUntilReady(gateway);
    const after = await answers(gateway, tieLimit, totalRows, tailExpected);
    await gateway.stop();

    for (const key of Object.keys(before)) expect(after[key], key).toEqual(before[key]);
    // The answers are not empty, and the whole window has every row once.
    const all = before[`log {service=~".+"} forward 5000`] as { result: { values: [string, string][] }[] };
    const entries = all.result.flatMap((s) => s.values.map(([at, line]) => `${at} ${line}`));
    expect(entries).toHaveLength(totalRows);
    expect(new Set(entries).size).toBe(totalRows);
    for (const key of Object.keys(before)) expect(JSON.stringify(before[key]), key).not.toMatch(/^(\[\]|\{"resultType":"\w+","result":\[\]\})$/);
    expect(before.tail).toHaveLength(tailExpected);
  }, 120_000);
});
