// LogQL → SQL (issue 16): the SQL text of representative queries, then every query run against PostgreSQL and
// compared with a ground truth computed here from the rows as seeded (Loki's semantics written out plainly).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { levelName } from '@logstream/shared/levels.js';
import { seed } from '../../test/helpers/seed.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/test-env.js';
import type { LogQuery, MetricExpr } from '../src/logql/ast.js';
import { evalMetric, lastRangeSource, runLogQuery, type ExecStats } from '../src/logql/evaluate.js';
import { parseLogQL } from '../src/logql/parse.js';
import { lastEntrySql, LOG_QUERY_MAX_BYTES, logSelectSql, replayFloorSql, ROW_NS_SQL, tailSelectSql } from '../src/logql/to-sql.js';
import { withLokiTx } from '../src/loki/query-api.js';

let t: TestEnv;

interface Ev {
  id: number;
  ts: number;
  level: number;
  service: string;
  message: string;
  attributes: Record<string, unknown>;
}

const MIN = 60_000;
// An hour-aligned base two hours back: bins and rollup minutes line up, and some rows sit exactly on minute edges.
const BASE = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
const HOSTS = ['web-1', 'web-2', 'web-3'];
const events: Ev[] = Array.from({ length: 400 }, (_, i) => {
  const kind = i % 4;
  const status = [200, 404, 500, 502][i % 4]!;
  const message =
    kind === 0 ? `GET /item/${i} took ${i % 50} ms${i % 3 === 0 ? ' timeout' : ''}${i % 9 === 0 ? ' retry' : ''}`
    : kind === 1 ? JSON.stringify({ user: `u${i % 5}`, latency: i % 30, req: { path: i % 2 ? '/a' : '/b' } })
    : kind === 2 ? `method=GET path=/x${i % 3} status=${500 + (i % 5)} msg="hello world ${i}"`
    : `Timeout talking to db ${i}`;
  return {
    id: 0,
    // Every 10th row exactly on a minute edge.
    ts: i % 10 === 0 ? BASE + (i % 60) * MIN : BASE + ((i * 7919) % (60 * MIN)),
    level: [10, 20, 30, 40, 50, 60][(i * 5) % 6]!,
    service: ['api', 'web', 'billing'][i % 3]!,
    message,
    attributes: i % 7 === 0 ? {} : { host: HOSTS[i % 3]!, status, ...(i % 11 === 0 ? { 'http.method': 'GET' } : {}) },
  };
});

beforeAll(async () => {
  t = await createTestEnv('logql_sql');
  const ids = await seed(t.pool, t.channel, events.map((e) => ({ message: e.message, level: e.level, service: e.service, ts: e.ts, attributes: e.attributes })));
  ids.forEach((id, i) => (events[i]!.id = id));
});
afterAll(async () => t.cleanup());

// ---- the ground truth: a row's labels, and Loki's matchers written out.
function labelsOf(e: Ev, parsed: 'json' | 'logfmt' | undefined): Record<string, string> {
  const out: Record<string, string> = { service: e.service, level: levelName(e.level) };
  const add = (fields: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(fields)) {
      const name = k.replace(/[^A-Za-z0-9_]/g, '_');
      if (v !== null && typeof v !== 'object' && !(name in out)) out[name] = String(v);
    }
  };
  add(e.attributes);
  if (parsed === 'json' && e.message.startsWith('{')) {
    const j = JSON.parse(e.message);
    add({ user: j.user, latency: j.latency, req_path: j.req.path });
  }
  if (parsed === 'logfmt') for (const m of e.message.matchAll(/(?:^|\s)([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)/g)) if (!(m[1]! in out)) out[m[1]!] = m[2]!.startsWith('"') ? m[2]!.slice(1, -1) : m[2]!;
  return out;
}
const get = (e: Ev, name: string, parsed?: 'json' | 'logfmt') => labelsOf(e, parsed)[name] ?? '';
const num = (v: string) => (v !== '' && !Number.isNaN(Number(v)) ? Number(v) : undefined);

const LOG_CASES: [string, (e: Ev) => boolean][] = [
  ['{service="api"}', (e) => e.service === 'api'],
  ['{service=~"api|web", level!="info"}', (e) => ['api', 'web'].includes(e.service) && e.level !== 30],
  ['{level=~"warn|error|fatal"}', (e) => e.level >= 40],
  ['{host="web-1"}', (e) => get(e, 'host') === 'web-1'],
  ['{service="api", host!="web-1"}', (e) => e.service === 'api' && get(e, 'host') !== 'web-1'],
  ['{service="api", host=""}', (e) => e.service === 'api' && get(e, 'host') === ''],
  ['{host=~"web-[12]"}', (e) => /^(?:web-[12])$/.test(get(e, 'host'))],
  ['{service=~".+"} |= "timeout" != "retry"', (e) => e.message.includes('timeout') && !e.message.includes('retry')],
  ['{service=~".+"} |~ "(?i)TIMEOUT"', (e) => /timeout/i.test(e.message)],
  ['{service=~".+"} !~ "^GET|^method"', (e) => !/^GET|^method/.test(e.message)],
  ['{service=~".+"} | status >= 500', (e) => (num(get(e, 'status')) ?? -Infinity) >= 500],
  ['{service=~".+"} | status >= 500 or host = "web-2"', (e) => (num(get(e, 'status')) ?? -Infinity) >= 500 || get(e, 'host') === 'web-2'],
  ['{service=~".+"} | status != 404 and host =~ "web-(1|3)"', (e) => num(get(e, 'status')) !== undefined && num(get(e, 'status')) !== 404 && /^(?:web-(1|3))$/.test(get(e, 'host'))],
  ['{service=~".+"} | json | latency > 10', (e) => (num(get(e, 'latency', 'json')) ?? -Infinity) > 10],
  ['{service=~".+"} | json | req_path = "/a"', (e) => get(e, 'req_path', 'json') === '/a'],
  ['{service=~".+"} | logfmt | path = "/x1", msg =~ "hello.*"', (e) => get(e, 'path', 'logfmt') === '/x1' && /^(?:hello.*)$/.test(get(e, 'msg', 'logfmt'))],
  // Before `| json` the message's fields are not labels yet.
  ['{service=~".+"} | latency > 10 | json', () => false],
];

const all = { start: BigInt(BASE - 3_600_000) * 1_000_000n, end: BigInt(BASE + 3_600_000) * 1_000_000n };

async function run(src: string, sel = { ...all, limit: 5000, direction: 'forward' as 'forward' | 'backward' }) {
  const stats: ExecStats = { lines: 0, bytes: 0 };
  return withLokiTx(t.pool, (c) => runLogQuery(c, parseLogQL(src) as LogQuery, sel, stats));
}

describe('LogQL → SQL text', () => {
  it('a selector with line and label filters is one WHERE on the rows of logs and of packed batches', () => {
    const q = parseLogQL('{service="api", level=~"error|fatal"} |= "timeout" | json | status >= 500') as LogQuery;
    const { text, values } = logSelectSql(q, { start: 1_000_000_000n, end: 2_000_000_123n, limit: 10, direction: 'backward' });
    const conditions = `service = $4 AND level = ANY($5::smallint[]) AND strpos(message, $6) > 0 AND logql_num(coalesce(attributes->>'status', logql_json(message)->>'status')) >= $7::float8`;
    expect(text).toContain(`(SELECT * FROM logs WHERE "timestamp" >= `);
    expect(text).toContain(`${conditions} ORDER BY "timestamp" DESC, id DESC LIMIT $3)`);
    // The packed batches: by their time range, services, levels and joined messages, then each row as above; in
    // two passes (packed-where.ts logsByTimeSql), each in time order.
    const batch = `coalesce(b.service_set && $8::text[], false) AND b.level_mask & 96 <> 0 AND b.level_mask >= 32 AND coalesce(logs_msgs_text(b.messages) LIKE $9, false)`;
    expect(text).toContain(`${batch} AND "timestamp" >= `);
    expect(text).toContain(`${conditions} ORDER BY b.ts_max DESC, b.id_from DESC LIMIT $3)`);
    expect(text).toContain(`${conditions} AND f.id NOT IN (SELECT id FROM p1)) logs CROSS JOIN LATERAL (SELECT logql_json(logs.message) AS fields) pj ORDER BY "timestamp" DESC, id DESC LIMIT $3`);
    // end = 2,000,000,123 ns: µs 2,000,000 and id % 1000 < 123 for the row ns below it.
    expect(text).toContain('id % 1000 < 123');
    expect(values).toEqual(['1000000', '2000000', 10, 'api', [50, 60], 'timeout', 500, ['api'], '%timeout%', LOG_QUERY_MAX_BYTES]);
  });

  it('regex matchers are anchored, (?i) becomes ~*', () => {
    const q = parseLogQL('{host=~"(?i)web-.*"} |~ "err"') as LogQuery;
    const { text, values } = logSelectSql(q, { start: 0n, end: 1n, limit: 1, direction: 'forward' });
    expect(text).toContain(`coalesce(attributes->>'host', '') ~* $4 AND message ~ $5`);
    expect(values.slice(3, 5)).toEqual(['^(?:web-.*)$', 'err']);
  });
});

describe('log queries against PostgreSQL', () => {
  it('a tail read cut by bytes reads on from its last row: every row once, in id order', async () => {
    const q = parseLogQL('{service=~".+"}') as LogQuery;
    const ids = events.map((e) => e.id).sort((a, b) => a - b);
    const seen: number[] = [];
    let after = ids[0]! - 1;
    let reads = 0;
    for (;;) {
      const { text, values } = tailSelectSql(q, after, ids[ids.length - 1]!, undefined, 1000, 3_000);
      const { rows } = await t.pool.query<{ id: string; source_rows: string }>(text, values);
      reads++;
      seen.push(...rows.map((r) => Number(r.id)));
      if (rows.length === 0 || rows.length === Number(rows[0]!.source_rows)) break;
      after = Number(rows[rows.length - 1]!.id);
    }
    expect(seen).toEqual(ids);
    expect(reads).toBeGreaterThan(2);
  });

  it('a tail resumed at the last entry\'s ns + 1 goes on after it, where rows of one µs wrap their id % 1000', async () => {
    // 999 rows of one millisecond: their sub-µs digits (id % 1000) wrap (unless the first is x000; then again), so
    // rows sent before the last one have larger ns than it (the CI run that sent 26 of 50 rows twice).
    const ts = BASE - 5 * MIN;
    const q = parseLogQL('{service="wrap"}') as LogQuery;
    const nsOf = async (id: number) => BigInt((await t.pool.query(`SELECT ${ROW_NS_SQL} AS ns FROM logs WHERE id = $1`, [id])).rows[0].ns);
    const lastOf = async (start: bigint) => (await t.pool.query(lastEntrySql(start).text, lastEntrySql(start).values)).rows[0].id;
    try {
      let ids: number[] = [];
      let wrap = -1;
      while (wrap < 0) {
        await t.pool.query(`DELETE FROM logs WHERE service = 'wrap'`);
        ids = await seed(t.pool, t.channel, Array.from({ length: 999 }, (_, i) => ({ message: `same ms ${i}`, service: 'wrap', ts })));
        wrap = ids.findIndex((id, i) => i > 0 && id % 1000 < ids[i - 1]! % 1000);
      }
      const head = ids[ids.length - 1]!;
      for (const k of [0, wrap - 1, wrap, 998]) {
        const start = (await nsOf(ids[k]!)) + 1n;
        const last = await lastOf(start);
        expect(Number(last), `row ${k}`).toBe(ids[k]);
        const { text, values } = tailSelectSql(q, 0, head, { ns: start, lastId: last }, 5000);
        const got = (await t.pool.query<{ id: string }>(text, values)).rows.map((r) => Number(r.id));
        expect(got, `resumed after row ${k}`).toEqual(ids.slice(k + 1));
      }
      // A start that names no entry is a plain ns bound (Loki's meaning).
      expect(await lastOf((await nsOf(ids[0]!)) - 7_000n)).toBeNull();
    } finally {
      await t.pool.query(`DELETE FROM logs WHERE service = 'wrap'`);
    }
  });

  it('a tail replay from its floor (replayFloorSql) sends what a replay from id 0 sends', async () => {
    // Timestamps here are out of id order (random within the hour): the first id from `start` on is a lower bound
    // of the replay, not its first row. Starts: on rows' ns (a resume, with lastId) and between them.
    const q = parseLogQL('{service=~".+"}') as LogQuery;
    const ids = events.map((e) => e.id).sort((a, b) => a - b);
    const head = ids[ids.length - 1]!;
    const nsOf = async (id: number) => BigInt((await t.pool.query(`SELECT ${ROW_NS_SQL} AS ns FROM logs WHERE id = $1`, [id])).rows[0].ns);
    const read = async (after: number, start: { ns: bigint; lastId?: string }) => {
      const { text, values } = tailSelectSql(q, after, head, start, 5000);
      return (await t.pool.query<{ id: string }>(text, values)).rows.map((r) => Number(r.id));
    };
    const starts: bigint[] = [BigInt(BASE - 3_600_000) * 1_000_000n, BigInt(BASE + 3 * 3_600_000) * 1_000_000n];
    for (const k of [3, 57, 150, 299, 398]) starts.push(await nsOf(events[k]!.id), (await nsOf(events[k]!.id)) + 1n);
    let skipped = 0;
    for (const ns of starts) {
      const last = (await t.pool.query(lastEntrySql(ns).text, lastEntrySql(ns).values)).rows[0].id as string | null;
      const start = { ns, ...(last ? { lastId: last } : {}) };
      const floor = replayFloorSql(q, start, head);
      const from = Math.min(Number((await t.pool.query(floor.text, floor.values)).rows[0].after), head);
      skipped += ids.filter((id) => id <= from).length;
      expect(await read(from, start), `start ${ns}`).toEqual(await read(0, start));
    }
    // The bound skips rows (else the test would pass with a cursor of 0 everywhere).
    expect(skipped).toBeGreaterThan(0);
  });

  it('stops at a byte budget before the limit, in order, and says it did (issue 11 point 2)', async () => {
    const q = parseLogQL('{service=~".+"}') as LogQuery;
    const sel = { ...all, limit: 5000, direction: 'backward' as const };
    const stats: ExecStats = { lines: 0, bytes: 0 };
    const whole = await withLokiTx(t.pool, (c) => runLogQuery(c, q, sel, stats));
    expect(whole.cut).toBe(false);
    expect(whole.entries).toBe(events.length);
    const budget = 2_000;
    const part = await withLokiTx(t.pool, (c) => runLogQuery(c, q, sel, stats, budget));
    expect(part.cut).toBe(true);
    const newestFirst = [...events].sort((a, b) => b.ts - a.ts || b.id - a.id);
    // A prefix of the whole answer: the rows before the one that crossed the budget fit under it.
    const got = part.streams.flatMap((s) => s.values.map((v) => v[0])).sort();
    const prefix = newestFirst.slice(0, part.entries);
    expect(got).toEqual(prefix.map((e) => String(BigInt(e.ts) * 1_000_000n + BigInt(e.id % 1000))).sort());
    const size = (e: Ev) => Buffer.byteLength(e.message) + Buffer.byteLength(JSON.stringify(e.attributes));
    expect(prefix.slice(0, -1).reduce((n, e) => n + size(e), 0)).toBeLessThan(budget);
    expect(part.entries).toBeLessThan(events.length);
  });

  it.each(LOG_CASES)('%s returns exactly the matching rows', async (src, pred) => {
    const { streams, entries } = await run(src);
    const got = streams.flatMap((s) => s.values.map((v) => v[0])).sort();
    const expected = events.filter(pred);
    expect(entries).toBe(expected.length);
    // A row's ns timestamp is its µs and id % 1000.
    expect(got).toEqual(expected.map((e) => String(BigInt(e.ts) * 1_000_000n + BigInt(e.id % 1000))).sort());
  });

  it('groups entries into streams by label set, each in the asked direction, `limit` newest first', async () => {
    const { streams, entries } = await run('{service="web"} | json', { ...all, limit: 25, direction: 'backward' });
    expect(entries).toBe(25);
    const newest = events.filter((e) => e.service === 'web').sort((a, b) => b.ts - a.ts || b.id - a.id).slice(0, 25);
    for (const s of streams) {
      for (const [ns, line] of s.values) {
        const e = newest.find((x) => String(BigInt(x.ts) * 1_000_000n + BigInt(x.id % 1000)) === ns)!;
        expect(e.message).toBe(line);
        expect(s.stream).toEqual(Object.fromEntries(Object.entries(labelsOf(e, 'json')).sort()));
      }
      const ts = s.values.map((v) => BigInt(v[0]));
      expect(ts).toEqual([...ts].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
    }
  });

  it('start is inclusive and end exclusive, to the ns', async () => {
    const e = events[10]!; // on a minute edge
    const ns = BigInt(e.ts) * 1_000_000n + BigInt(e.id % 1000);
    const only = (s: { streams: { values: [string, string][] }[] }) => s.streams.flatMap((x) => x.values.map((v) => v[0]));
    expect(only(await run('{service=~".+"}', { start: ns, end: ns + 1n, limit: 100, direction: 'forward' }))).toContain(String(ns));
    expect(only(await run('{service=~".+"}', { start: ns + 1n, end: ns + 1_000_000n, limit: 100, direction: 'forward' }))).not.toContain(String(ns));
    expect(only(await run('{service=~".+"}', { start: ns - 1_000_000n, end: ns, limit: 100, direction: 'forward' }))).not.toContain(String(ns));
  });

  it('an invalid regular expression is a 400 naming it, not a 500', async () => {
    await expect(run('{service=~".+"} |~ "(unclosed"')).rejects.toMatchObject({ status: 400, code: 'bad_logql', message: expect.stringContaining('invalid regular expression') });
  });

  it('a query over its time limit is cancelled by PostgreSQL and reported (503 query_timeout)', async () => {
    await expect(withLokiTx(t.pool, (c) => c.query('SELECT pg_sleep(5)'), 50)).rejects.toMatchObject({ status: 503, code: 'query_timeout' });
  });
});

// ---- metric queries
function windowCount(t0: number, rangeMs: number, pred: (e: Ev) => boolean) {
  return events.filter((e) => e.ts > t0 - rangeMs && e.ts <= t0 && pred(e));
}

async function metric(src: string, startMs: number, stepMs: number, points: number) {
  const stats: ExecStats = { lines: 0, bytes: 0 };
  const r = await withLokiTx(t.pool, (c) => evalMetric(c, parseLogQL(src) as MetricExpr, { startMs, stepMs, points }, stats));
  return { r, source: lastRangeSource };
}

/** Series → { labelsKey: { pointIndex: value } } for comparison. */
function asTable(series: { metric: Record<string, string>; values: (number | undefined)[] }[]) {
  const out: Record<string, Record<number, number>> = {};
  for (const s of series) {
    const row: Record<number, number> = {};
    // Rounded: a sum of bytes divided by seconds may differ in its last bit from the same sum taken another way.
    s.values.forEach((v, i) => v !== undefined && (row[i] = Number(v.toPrecision(12))));
    out[JSON.stringify(s.metric)] = row;
  }
  return out;
}

function expectedTable(startMs: number, stepMs: number, points: number, rangeMs: number, key: (e: Ev) => Record<string, string>, value: (rows: Ev[]) => number, pred: (e: Ev) => boolean = () => true) {
  const out: Record<string, Record<number, number>> = {};
  for (let i = 0; i < points; i++) {
    const rows = windowCount(startMs + i * stepMs, rangeMs, pred);
    const groups = new Map<string, Ev[]>();
    for (const e of rows) {
      const k = JSON.stringify(Object.fromEntries(Object.entries(key(e)).sort()));
      groups.set(k, [...(groups.get(k) ?? []), e]);
    }
    for (const [k, g] of groups) (out[k] ??= {})[i] = Number(value(g).toPrecision(12));
  }
  return out;
}

describe('metric queries against PostgreSQL', () => {
  const points = 61;
  it('the log-volume query comes from the minute rollup and equals the row count of every (t − 1m, t] window', async () => {
    const { r, source } = await metric('sum by (level) (count_over_time({service="api"}[1m]))', BASE, MIN, points);
    expect(source).toBe('logs_per_minute');
    expect(asTable(r.series)).toEqual(expectedTable(BASE, MIN, points, MIN, (e) => ({ level: levelName(e.level) }), (g) => g.length, (e) => e.service === 'api'));
  });

  it('the same query with a line filter is counted from the rows, with the same answer shape', async () => {
    const { r, source } = await metric('sum by (level) (count_over_time({service="api"} |= "timeout" [1m]))', BASE, MIN, points);
    expect(source).toBe('logs');
    expect(asTable(r.series)).toEqual(expectedTable(BASE, MIN, points, MIN, (e) => ({ level: levelName(e.level) }), (g) => g.length, (e) => e.service === 'api' && e.message.includes('timeout')));
  });

  it('hour rollup for hour steps; a range longer than the step overlaps windows', async () => {
    const hour = await metric('sum by (service) (count_over_time({level=~".+"}[1h]))', BASE + 3_600_000, 3_600_000, 2);
    expect(hour.source).toBe('logs_per_hour');
    expect(asTable(hour.r.series)).toEqual(expectedTable(BASE + 3_600_000, 3_600_000, 2, 3_600_000, (e) => ({ service: e.service }), (g) => g.length));
    const overlap = await metric('sum by (service) (count_over_time({level=~".+"}[5m]))', BASE, 2 * MIN, 31);
    expect(asTable(overlap.r.series)).toEqual(expectedTable(BASE, 2 * MIN, 31, 5 * MIN, (e) => ({ service: e.service }), (g) => g.length));
  });

  it('rate, bytes_over_time and bytes_rate', async () => {
    const rate = await metric('sum by (service) (rate({service=~".+"}[5m]))', BASE, 5 * MIN, 13);
    expect(asTable(rate.r.series)).toEqual(expectedTable(BASE, 5 * MIN, 13, 5 * MIN, (e) => ({ service: e.service }), (g) => g.length / 300));
    const bytes = await metric('sum by (service) (bytes_over_time({service=~".+"}[5m]))', BASE, 5 * MIN, 13);
    const size = (g: Ev[]) => g.reduce((a, e) => a + Buffer.byteLength(e.message), 0);
    expect(asTable(bytes.r.series)).toEqual(expectedTable(BASE, 5 * MIN, 13, 5 * MIN, (e) => ({ service: e.service }), size));
    const bytesRate = await metric('sum(bytes_rate({service=~".+"}[10m]))', BASE, 10 * MIN, 7);
    expect(asTable(bytesRate.r.series)).toEqual(expectedTable(BASE, 10 * MIN, 7, 10 * MIN, () => ({}), (g) => size(g) / 600));
  });

  it('count, avg, min, max, without and topk over the full label sets', async () => {
    const full = (e: Ev) => labelsOf(e, undefined);
    const perSeries = (g: Ev[]) => {
      const m = new Map<string, number>();
      for (const e of g) m.set(JSON.stringify(Object.entries(full(e)).sort()), (m.get(JSON.stringify(Object.entries(full(e)).sort())) ?? 0) + 1);
      return [...m.values()];
    };
    const cases: [string, (xs: number[]) => number][] = [
      ['count by (service) (count_over_time({service=~".+"}[10m]))', (xs) => xs.length],
      ['avg by (service) (count_over_time({service=~".+"}[10m]))', (xs) => xs.reduce((a, b) => a + b, 0) / xs.length],
      ['min by (service) (count_over_time({service=~".+"}[10m]))', (xs) => Math.min(...xs)],
      ['max by (service) (count_over_time({service=~".+"}[10m]))', (xs) => Math.max(...xs)],
    ];
    for (const [src, fold] of cases) {
      const { r } = await metric(src, BASE, 10 * MIN, 7);
      expect(asTable(r.series), src).toEqual(expectedTable(BASE, 10 * MIN, 7, 10 * MIN, (e) => ({ service: e.service }), (g) => fold(perSeries(g))));
    }
    const without = await metric('sum without (host, status, http_method) (count_over_time({service=~".+"}[10m]))', BASE, 10 * MIN, 7);
    expect(asTable(without.r.series)).toEqual(expectedTable(BASE, 10 * MIN, 7, 10 * MIN, (e) => ({ service: e.service, level: levelName(e.level) }), (g) => g.length));
    const top = await metric('topk(1, sum by (service) (count_over_time({service=~".+"}[10m])))', BASE, 10 * MIN, 7);
    for (let i = 0; i < 7; i++) {
      const present = top.r.series.filter((s) => s.values[i] !== undefined);
      const counts = ['api', 'web', 'billing'].map((s) => windowCount(BASE + i * 10 * MIN, 10 * MIN, (e) => e.service === s).length);
      if (Math.max(...counts) === 0) expect(present).toHaveLength(0);
      else {
        expect(present).toHaveLength(1);
        expect(present[0]!.values[i]).toBe(Math.max(...counts));
      }
    }
  });

  it('label filters after | json group and count by extracted labels', async () => {
    const { r } = await metric('sum by (user) (count_over_time({service=~".+"} | json | latency >= 5 [1h]))', BASE + 3_600_000, 3_600_000, 1);
    expect(asTable(r.series)).toEqual(expectedTable(BASE + 3_600_000, 3_600_000, 1, 3_600_000, (e) => ({ user: get(e, 'user', 'json') }), (g) => g.length, (e) => (num(get(e, 'latency', 'json')) ?? -1) >= 5));
  });

  it('vector(1)+vector(1) is 2 at every step; a bare number is a scalar', async () => {
    const { r } = await metric('vector(1)+vector(1)', BASE, MIN, 3);
    expect(r).toEqual({ scalar: false, series: [{ metric: {}, values: [2, 2, 2] }] });
    expect((await metric('2 * (3 - 1)', BASE, MIN, 1)).r.scalar).toBe(true);
  });
});
