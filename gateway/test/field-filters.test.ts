// Field filters on /logs, /stats and /live, and the facets of GET /fields (issue 16), each against a ground truth
// written here in plain SQL (jsonb operators and casts, not the gateway's own translation).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLive } from '../../test/helpers/live-client.js';
import { seed } from '../../test/helpers/seed.js';
import { startService, stopAll, waitUntilReady, type Service } from '../../test/helpers/services.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/test-env.js';

let t: TestEnv;
let gateway: Service;
const now = Date.now();

const attrsOf = (i: number): Record<string, unknown> => {
  if (i % 13 === 0) return {};
  const a: Record<string, unknown> = { host: `web-${i % 4}`, status: [200, 404, 500, 502, 503][i % 5] };
  if (i % 3 === 0) a.status = String(a.status); // a string "502" matches attr.status=502 as the number does
  if (i % 7 === 0) a.latency = (i % 40) / 4;
  if (i % 11 === 0) a.region = null;
  if (i % 17 === 0) a.status = 'n/a';
  return a;
};

beforeAll(async () => {
  t = await createTestEnv('field_filters');
  await seed(
    t.pool,
    t.channel,
    Array.from({ length: 600 }, (_, i) => ({ message: `req ${i}${i % 5 === 0 ? ' timeout' : ''}`, service: ['api', 'web'][i % 2], level: [30, 40, 50][i % 3], ts: now - 1000 - i * 1000, attributes: attrsOf(i) })),
  );
  // A generous search budget: the text-search case is counted whole however loaded the machine is.
  gateway = await startService('gateway', { ...t.env, SEARCH_BUDGET_MS: '10000' });
  await waitUntilReady(gateway);
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

// [query string, the same condition in SQL]
const CASES: [string, string][] = [
  ['attr.host=web-1', `attributes @> '{"host":"web-1"}'`],
  ['attr.host=web-1&attr.status=502', `attributes @> '{"host":"web-1"}' AND (attributes @> '{"status":502}' OR attributes @> '{"status":"502"}')`],
  ['attr.host=web-1,web-3', `(attributes @> '{"host":"web-1"}' OR attributes @> '{"host":"web-3"}')`],
  ['attr.status=500..599', `jsonb_typeof(attributes->'status') IN ('number','string') AND (attributes->>'status') ~ '^[0-9]+$' AND (attributes->>'status')::int BETWEEN 500 AND 599`],
  ['attr.status=..404&service=web', `service = 'web' AND (attributes->>'status') ~ '^[0-9]+$' AND (attributes->>'status')::int <= 404`],
  ['attr.latency=2.5..&level=warn', `level >= 40 AND jsonb_typeof(attributes->'latency') = 'number' AND (attributes->>'latency')::float8 >= 2.5`],
  ['attr.status=n/a', `attributes->>'status' = 'n/a'`],
  ['attr.region=x', `false`],
  ['attr.host=web-2&q=timeout', `attributes @> '{"host":"web-2"}' AND message ILIKE '%timeout%'`],
];

const truth = async (cond: string) => (await t.pool.query(`SELECT id FROM logs WHERE ${cond} ORDER BY id DESC`)).rows.map((r) => Number(r.id));

describe('field filters', () => {
  it.each(CASES)('GET /logs?%s returns exactly the matching rows', async (qs, cond) => {
    const res = await fetch(`${gateway.url}/logs?${qs}&limit=1000`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    const expected = await truth(cond);
    expect(body.items.map((i: any) => i.id)).toEqual(expected);
  });

  it.each(CASES)('GET /stats?%s counts exactly the matching rows of the window', async (qs, cond) => {
    const res = await fetch(`${gateway.url}/stats?window=1h&bucket=1m&${qs}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.source).toBe('logs');
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM logs WHERE ${cond} AND "timestamp" >= $1 AND "timestamp" < $2`, [body.from, body.to]);
    expect(body.total).toBe(rows[0].n);
  });

  it('/live with attr filters sends exactly the matching new rows', async () => {
    const live = await connectLive(gateway.url, 'attr.host=web-1,web-2&attr.status=500..599');
    const before = Number((await t.pool.query('SELECT max(id) AS m FROM logs')).rows[0].m);
    await seed(t.pool, t.channel, Array.from({ length: 100 }, (_, i) => ({ message: `new ${i}`, attributes: attrsOf(i + 1) })));
    const expected = await truth(`id > ${before} AND (attributes @> '{"host":"web-1"}' OR attributes @> '{"host":"web-2"}') AND (attributes->>'status') ~ '^[0-9]+$' AND (attributes->>'status')::int BETWEEN 500 AND 599`);
    expect(expected.length).toBeGreaterThan(5);
    await live.waitForIds(expected.length);
    // The newest row is always delivered to an unfiltered client too: once it is, nothing more is coming.
    const all = await connectLive(gateway.url, `since=${before}`);
    await all.waitForIds(100);
    expect(live.ids).toEqual([...expected].reverse());
    await live.close();
    await all.close();
  });

  it('refuses bad attribute filters with a 400 naming them', async () => {
    for (const qs of ['attr.host=', 'attr.%20bad=1', 'attr.host=' + 'x,'.repeat(101)]) {
      const res = await fetch(`${gateway.url}/logs?${qs}`);
      expect(res.status, qs).toBe(400);
      expect(((await res.json()) as any).message).toMatch(/attr/);
    }
  });
});

describe('GET /fields (facets)', () => {
  it('lists the fields of the window and their top values with exact counts', async () => {
    const res = await fetch(`${gateway.url}/fields?window=1h&service=api&values=3`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    const sql = `FROM logs, jsonb_each_text(attributes) e(k, v) WHERE service = 'api' AND "timestamp" >= $1 AND "timestamp" <= $2`;
    const perField = (await t.pool.query(`SELECT k, count(*)::int AS n ${sql} GROUP BY k ORDER BY n DESC, k`, [body.from, body.to])).rows;
    expect(body.rows).toBe(Number((await t.pool.query(`SELECT count(*) FROM logs WHERE service = 'api' AND "timestamp" >= $1 AND "timestamp" <= $2`, [body.from, body.to])).rows[0].count));
    expect(body.fields.map((f: any) => [f.name, f.count])).toEqual(perField.map((r) => [r.k, r.n]));
    for (const f of body.fields) {
      const values = (await t.pool.query(`SELECT v, count(*)::int AS n ${sql} AND k = $3 AND v IS NOT NULL GROUP BY v ORDER BY n DESC, v LIMIT 3`, [body.from, body.to, f.name])).rows;
      expect(f.values, f.name).toEqual(values.map((r) => ({ value: r.v, count: r.n })));
    }
  });

  it('takes the same filters as /logs, and `fields` to name the facets', async () => {
    const body = (await (await fetch(`${gateway.url}/fields?window=1h&attr.host=web-1&fields=status`)).json()) as any;
    expect(body.fields.map((f: any) => f.name)).toEqual(['status']);
    const { rows } = await t.pool.query(`SELECT attributes->>'status' AS v, count(*)::int AS n FROM logs WHERE attributes @> '{"host":"web-1"}' AND attributes ? 'status' GROUP BY 1 ORDER BY n DESC, v LIMIT 10`);
    expect(body.fields[0].values).toEqual(rows.map((r) => ({ value: r.v, count: r.n })));
  });
});
