// Grafana's Loki data source against the gateway (issue 16): the requests it sends (as pkg/tsdb/loki/api.go builds
// them: ns bounds, `step` in ms, `direction`, `limit`; the health check; label browser; Live) replayed against a
// real gateway process, and each answer checked against Loki's documented shapes
// (docs/sources/reference/loki-http-api.md) and against the rows in PostgreSQL.
import WebSocket from 'ws';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from './helpers/seed.js';
import { startService, stopAll, waitUntilReady, type Service } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
let gateway: Service;

const nsString = z.string().regex(/^\d{19}$/);
const labels = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string());
const statsShape = z.object({ summary: z.object({ execTime: z.number(), totalBytesProcessed: z.number(), totalLinesProcessed: z.number(), totalEntriesReturned: z.number() }).passthrough() }).passthrough();
const streamsShape = z.object({
  status: z.literal('success'),
  data: z.object({ resultType: z.literal('streams'), result: z.array(z.object({ stream: labels, values: z.array(z.tuple([nsString, z.string()])) }).strict()), stats: statsShape }),
});
const matrixShape = z.object({
  status: z.literal('success'),
  data: z.object({ resultType: z.literal('matrix'), result: z.array(z.object({ metric: labels, values: z.array(z.tuple([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/)])) }).strict()), stats: statsShape }),
});
const vectorShape = z.object({
  status: z.literal('success'),
  data: z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric: labels, value: z.tuple([z.number(), z.string()]) }).strict()), stats: statsShape }),
});
const listShape = z.object({ status: z.literal('success'), data: z.array(z.string()) }).strict();
const seriesShape = z.object({ status: z.literal('success'), data: z.array(labels) }).strict();
const tailFrame = z.object({ streams: z.array(z.object({ stream: labels, values: z.array(z.tuple([nsString, z.string()])) })), dropped_entries: z.array(z.object({ labels, timestamp: nsString })) }).strict();

const MIN = 60_000;
const now = Date.now();
const BASE = Math.floor(now / MIN) * MIN - 30 * MIN;

beforeAll(async () => {
  t = await createTestEnv('loki_compat');
  await seed(
    t.pool,
    t.channel,
    Array.from({ length: 300 }, (_, i) => ({
      message: i % 5 === 0 ? `GET /pay ${i} timeout` : `GET /item/${i} 200`,
      level: [30, 40, 50][i % 3],
      service: ['billing', 'api'][i % 2],
      ts: BASE + ((i * 6007) % (30 * MIN)),
      attributes: { host: `web-${i % 3}`, status: i % 4 === 0 ? 502 : 200 },
    })),
  );
  gateway = await startService('gateway', t.env);
  await waitUntilReady(gateway);
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;
async function get(path: string, params: Record<string, string | string[]>) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) qs.append(k, x);
  const res = await fetch(`${gateway.url}${path}?${qs}`, { headers: { 'X-Query-Tags': 'Source=grafana' } });
  return { status: res.status, body: (await res.json()) as any };
}

describe('Grafana Loki data source against the gateway', () => {
  it('health check: instant vector(1)+vector(1) is 2', async () => {
    const { status, body } = await get('/loki/api/v1/query', { query: 'vector(1)+vector(1)', time: ns(now), direction: 'backward' });
    expect(status).toBe(200);
    vectorShape.parse(body);
    expect(body.data.result).toEqual([{ metric: {}, value: [Math.floor(now) / 1000, '2'] }]);
  });

  it('buildinfo names a Loki version', async () => {
    const res = await fetch(`${gateway.url}/loki/api/v1/status/buildinfo`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+$/), revision: expect.any(String), branch: expect.any(String) });
  });

  it('Explore logs query: direction, limit, ns bounds and step in ms', async () => {
    const q = { query: '{service="billing"} |= "timeout"', direction: 'backward', limit: '20', start: ns(BASE), end: ns(now), step: '2000ms' };
    const { status, body } = await get('/loki/api/v1/query_range', q);
    expect(status).toBe(200);
    streamsShape.parse(body);
    const got = body.data.result.flatMap((s: any) => s.values.map((v: [string, string]) => ({ ns: v[0], line: v[1], stream: s.stream })));
    const { rows } = await t.pool.query(
      `SELECT message, (extract(epoch FROM "timestamp") * 1000)::bigint AS ms, id FROM logs WHERE service = 'billing' AND strpos(message, 'timeout') > 0 ORDER BY "timestamp" DESC, id DESC LIMIT 20`,
    );
    expect(got.map((g: any) => g.line).sort()).toEqual(rows.map((r) => r.message).sort());
    expect(body.data.stats.summary.totalEntriesReturned).toBe(20);
    for (const g of got) expect(g.stream).toMatchObject({ service: 'billing', host: expect.stringMatching(/^web-/), level: expect.any(String), status: expect.any(String) });
    // Within a stream, newest first.
    for (const s of body.data.result) {
      const ts = s.values.map((v: [string, string]) => BigInt(v[0]));
      expect(ts).toEqual([...ts].sort((a: bigint, b: bigint) => (a > b ? -1 : a < b ? 1 : 0)));
    }
    const forward = await get('/loki/api/v1/query_range', { ...q, direction: 'forward', limit: '5' });
    const oldest = forward.body.data.result.flatMap((s: any) => s.values.map((v: [string, string]) => BigInt(v[0])));
    expect(oldest).toHaveLength(5);
    const all = (await get('/loki/api/v1/query_range', { ...q, limit: '1000' })).body.data.result.flatMap((s: any) => s.values.map((v: [string, string]) => BigInt(v[0])));
    const sorted = [...all].sort((a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0));
    expect([...oldest].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(sorted.slice(0, 5));
  });

  it('log volume: sum by (level) (count_over_time(…[1m])) as a matrix equal to the rows per minute', async () => {
    const { status, body } = await get('/loki/api/v1/query_range', { query: 'sum by (level) (count_over_time({service="api"}[1m]))', start: ns(BASE), end: ns(now), step: '60000ms' });
    expect(status).toBe(200);
    matrixShape.parse(body);
    const { rows } = await t.pool.query(
      `SELECT (ARRAY['trace','debug','info','warn','error','fatal'])[level / 10] AS level, ceil(extract(epoch FROM "timestamp") / 60) * 60 AS t, count(*)::int AS n
       FROM logs WHERE service = 'api' GROUP BY 1, 2`,
    );
    const expected: Record<string, [number, string][]> = {};
    for (const r of rows) (expected[r.level] ??= []).push([Number(r.t), String(r.n)]);
    const got: Record<string, [number, string][]> = {};
    for (const s of body.data.result) got[s.metric.level] = s.values;
    for (const v of Object.values(expected)) v.sort((a, b) => a[0] - b[0]);
    expect(got).toEqual(expected);
  });

  it("Grafana's newer log-volume form (| drop __error__, detected_level in by) counts the same", async () => {
    const q = (query: string) => get('/loki/api/v1/query_range', { query, start: ns(BASE), end: ns(now), step: '60000ms' });
    const plain = await q('sum by (level) (count_over_time({service="api"}[1m]))');
    const grafana = await q('sum by (level, detected_level) (count_over_time({service="api"} | drop __error__[1m]))');
    expect(grafana.status).toBe(200);
    matrixShape.parse(grafana.body);
    expect(grafana.body.data.result).toEqual(plain.body.data.result);
  });

  it('labels, label values (with and without a selector), series and index stats', async () => {
    const window = { start: ns(BASE - MIN), end: ns(now + MIN) };
    const names = await get('/loki/api/v1/labels', window);
    listShape.parse(names.body);
    expect(names.body.data).toEqual(['host', 'level', 'service', 'status']);
    const services = await get('/loki/api/v1/label/service/values', window);
    listShape.parse(services.body);
    expect(services.body.data).toEqual(['api', 'billing']);
    const hosts = await get('/loki/api/v1/label/host/values', { ...window, query: '{service="api", level="warn"}' });
    const { rows } = await t.pool.query(`SELECT DISTINCT attributes->>'host' AS h FROM logs WHERE service = 'api' AND level = 40 ORDER BY 1`);
    expect(hosts.body.data).toEqual(rows.map((r) => r.h));
    const series = await get('/loki/api/v1/series', { ...window, 'match[]': ['{service="billing", status="502"}'] });
    seriesShape.parse(series.body);
    const distinct = await t.pool.query(`SELECT DISTINCT level, attributes->>'host' AS h FROM logs WHERE service = 'billing' AND attributes->>'status' = '502'`);
    expect(series.body.data).toHaveLength(distinct.rowCount!);
    for (const s of series.body.data) expect(s).toMatchObject({ service: 'billing', status: '502' });
    const stats = await get('/loki/api/v1/index/stats', { ...window, query: '{service="api"}' });
    expect(stats.status).toBe(200);
    expect(Object.keys(stats.body).sort()).toEqual(['bytes', 'chunks', 'entries', 'streams']);
    expect(stats.body.entries).toBe(150);
    expect(stats.body.streams).toBe(3);
    const unknown = await get('/loki/api/v1/label/nosuch/values', window);
    expect(unknown.body).toEqual({ status: 'success', data: [] });
  });

  it('POST with a form body answers as GET does', async () => {
    const form = new URLSearchParams({ query: '{service="api"}', limit: '7', start: ns(BASE), end: ns(now) });
    const res = await fetch(`${gateway.url}/loki/api/v1/query_range`, { method: 'POST', body: form, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    const body = (await res.json()) as any;
    streamsShape.parse(body);
    expect(body.data.result.flatMap((s: any) => s.values)).toHaveLength(7);
  });

  it('outside the subset or malformed: 400 with Loki\'s message and logstream\'s error code', async () => {
    const cases: [string, string, string][] = [
      ['{service="api"} | line_format "{{.msg}}"', 'unsupported_logql', '| line_format'],
      ['quantile_over_time(0.9, {service="api"} | unwrap latency [5m])', 'unsupported_logql', 'quantile_over_time()'],
      ['{service="api"', 'bad_logql', 'parse error at line 1, col 15'],
      ['{service="api"} |~ "(unclosed"', 'bad_logql', 'invalid regular expression'],
    ];
    for (const [query, error, message] of cases) {
      const { status, body } = await get('/loki/api/v1/query_range', { query, start: ns(BASE), end: ns(now) });
      expect(status, query).toBe(400);
      expect(body).toMatchObject({ status: 'error', error, message: expect.stringContaining(message) });
    }
    for (const [param, value] of [['start', 'yesterday'], ['limit', '0'], ['direction', 'sideways'], ['step', 'x']]) {
      const { status, body } = await get('/loki/api/v1/query_range', { query: '{service="api"}', [param]: value! });
      expect(status, param).toBe(400);
      expect(body.message).toContain(param === 'limit' ? 'limit' : param);
    }
  });
});

describe('Live: WebSocket /loki/api/v1/tail', () => {
  interface Tail {
    ws: WebSocket;
    entries: { ns: string; line: string; stream: Record<string, string> }[];
    dropped: unknown[];
    close(): Promise<void>;
  }
  async function tail(url: string, query: string, startNs: string): Promise<Tail> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/loki/api/v1/tail?${new URLSearchParams({ query, start: startNs, limit: '1000', delay_for: '0' })}`);
    const t: Tail = {
      ws,
      entries: [],
      dropped: [],
      close: () => new Promise((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve() : (ws.once('close', () => resolve()), ws.close()))),
    };
    ws.on('message', (data) => {
      const frame = tailFrame.parse(JSON.parse(data.toString()));
      for (const s of frame.streams) for (const [ns, line] of s.values) t.entries.push({ ns, line, stream: s.stream });
      t.dropped.push(...frame.dropped_entries);
    });
    await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
    return t;
  }
  const rowsSince = async (service: string, startMs: number) =>
    (await t.pool.query(`SELECT message FROM logs WHERE service = $1 AND "timestamp" >= to_timestamp($2 / 1000.0) ORDER BY id`, [service, startMs])).rows.map((r) => r.message);

  it('starts from `start` with no gap, follows new rows, and survives a killed LISTEN connection and a gateway restart', async () => {
    const startMs = BASE + 10 * MIN;
    // Rows stored before the tail opened, on both sides of `start`, and rows after.
    await seed(t.pool, t.channel, [{ message: 'tick early', service: 'tail', ts: startMs - MIN }, { message: 'tick at start', service: 'tail', ts: startMs }]);
    const a = await tail(gateway.url, '{service="tail"} |= "tick"', ns(startMs));
    let n = 0;
    const more = async (k: number) => {
      const events = Array.from({ length: k }, () => ({ message: `tick ${n++}`, service: 'tail', ts: Date.now() }));
      await seed(t.pool, t.channel, [...events, { message: 'tock (filtered out)', service: 'tail', ts: Date.now() }]);
    };
    await more(50);
    await waitFor('51 tail entries', () => a.entries.length >= 51);

    // Kill the gateway's LISTEN connection: rows keep coming (reconnect catch-up, poll).
    const pids = (await t.pool.query(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'logstream-gateway-listen'`, [t.database])).rows.map((r) => r.pid);
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) await t.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await more(50);
    await waitFor('101 tail entries', () => a.entries.length >= 101);
    expect(a.entries.map((e) => e.line)).toEqual(await rowsSince('tail', startMs).then((m) => m.filter((x) => x.includes('tick'))));

    // Restart the gateway; rows stored meanwhile; the client resumes from its last timestamp + 1 ns.
    await gateway.kill();
    await more(30);
    gateway = await startService('gateway', t.env);
    await waitUntilReady(gateway);
    const last = BigInt(a.entries[a.entries.length - 1]!.ns);
    const b = await tail(gateway.url, '{service="tail"} |= "tick"', String(last + 1n));
    await more(20);
    await waitFor('50 entries after the restart', () => b.entries.length >= 50);
    const lines = [...a.entries, ...b.entries].map((e) => e.line);
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines).toEqual((await rowsSince('tail', startMs)).filter((x) => x.includes('tick')));
    expect(b.entries[0]!.stream).toEqual({ level: 'info', service: 'tail' });
    expect(a.dropped).toEqual([]);
    await a.close();
    await b.close();
  });

  it('tails on the same query share their reads and each still gets every row once, in order', async () => {
    const startMs = Date.now();
    const query = '{service="shared"} |= "beat"';
    await seed(t.pool, t.channel, [{ message: 'beat before', service: 'shared', ts: startMs - MIN }]);
    // Three tails on one query from the same start, one from a minute earlier (its replay differs), one on another
    // query: the shared reads must not hand any of them another's rows.
    const same = await Promise.all([0, 1, 2].map(() => tail(gateway.url, query, ns(startMs))));
    const earlier = await tail(gateway.url, query, ns(startMs - 2 * MIN));
    const other = await tail(gateway.url, '{service="shared"} |= "other"', ns(startMs));
    let n = 0;
    for (let b = 0; b < 10; b++) {
      await seed(t.pool, t.channel, [
        ...Array.from({ length: 5 }, () => ({ message: `beat ${n++}`, service: 'shared', ts: Date.now() })),
        { message: `other ${b}`, service: 'shared', ts: Date.now() },
      ]);
    }
    const beats = Array.from({ length: n }, (_, i) => `beat ${i}`);
    for (const s of same) await waitFor('every beat on each tail', () => s.entries.length >= n);
    await waitFor('every beat on the earlier tail', () => earlier.entries.length >= n + 1);
    await waitFor('every other line', () => other.entries.length >= 10);
    await new Promise((r) => setTimeout(r, 300)); // nothing more (no doubles) arrives
    for (const s of same) expect(s.entries.map((e) => e.line)).toEqual(beats);
    expect(earlier.entries.map((e) => e.line)).toEqual(['beat before', ...beats]);
    expect(other.entries.map((e) => e.line)).toEqual(Array.from({ length: 10 }, (_, i) => `other ${i}`));
    for (const x of [...same, earlier, other]) await x.close();
  });

  it('replays from `start` the rows stored before it opened that the gateway has not fetched yet', async () => {
    // No poll and no NOTIFY for these rows (another channel): the gateway's head stays before them, as it does for
    // a moment after any commit. They are still the replay, so the one from before `start` is not sent.
    const slow = await startService('gateway', { ...t.env, POLL_INTERVAL_MS: '600000' });
    try {
      await waitUntilReady(slow);
      const startMs = Date.now();
      await seed(t.pool, `${t.channel}_unheard`, [
        { message: 'unheard before start', service: 'unheard', ts: startMs - MIN },
        { message: 'unheard after start', service: 'unheard', ts: startMs + 1 },
      ]);
      const a = await tail(slow.url, '{service="unheard"}', ns(startMs));
      await seed(t.pool, t.channel, [{ message: 'heard', service: 'unheard', ts: startMs + 2 }]);
      await waitFor('the rows after start', () => a.entries.length >= 2);
      await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
      expect(a.entries.map((e) => e.line)).toEqual(['unheard after start', 'heard']);
      await a.close();
    } finally {
      await slow.stop();
    }
  });

  it('replays a row committed before `start` whose timestamp is after it (a client clock ahead), and none before `start`', async () => {
    // The replay reads the ids from start's commit second on, and looks the rows below them up by timestamp
    // (replayFloorSql): both kinds of row must come, in commit order, and nothing older than `start`.
    const startMs = Date.now() + 10 * MIN;
    await seed(t.pool, t.channel, [
      { message: 'ahead before start', service: 'ahead', ts: startMs - MIN },
      { message: 'ahead after start', service: 'ahead', ts: startMs + MIN },
      { message: 'ahead at start', service: 'ahead', ts: startMs },
    ]);
    const a = await tail(gateway.url, '{service="ahead"}', ns(startMs));
    // At or after `start` too: committed while the tail resolves its replay, it is a replayed row, filtered by `start`.
    await seed(t.pool, t.channel, [{ message: 'ahead live', service: 'ahead', ts: startMs + 2 * MIN }]);
    await waitFor('the replayed rows and the live one', () => a.entries.length >= 3);
    await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
    expect(a.entries.map((e) => e.line)).toEqual(['ahead after start', 'ahead at start', 'ahead live']);
    await a.close();
  });

  it('refuses a metric query and a bad selector before the upgrade, in Loki\'s error shape', async () => {
    for (const query of ['count_over_time({service="api"}[1m])', '{service=']) {
      const ws = new WebSocket(`${gateway.url.replace(/^http/, 'ws')}/loki/api/v1/tail?${new URLSearchParams({ query })}`);
      const { status, body } = await new Promise<{ status: number; body: any }>((resolve, reject) => {
        ws.once('open', () => reject(new Error('upgraded')));
        ws.once('unexpected-response', (_req, res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        });
      });
      expect(status).toBe(400);
      expect(body).toMatchObject({ status: 'error', message: expect.any(String) });
    }
  });
});
