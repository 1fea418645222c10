// The gateway as a real process: GET /logs filters and pagination, GET /logs/<id>, /live filters and `since`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLive } from '../../test/helpers/live-client.js';
import { seed } from '../../test/helpers/seed.js';
import { startService, stopAll, type Service } from '../../test/helpers/services.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/test-env.js';

let t: TestEnv;
let gateway: Service;
let ids: number[];
const T0 = Date.parse('2026-11-20T10:00:00.000Z');

beforeAll(async () => {
  t = await createTestEnv('gateway');
  // 60 rows: services api/web/db in turn, levels cycling trace..fatal, one minute apart.
  ids = await seed(
    t.pool,
    t.channel,
    Array.from({ length: 60 }, (_, i) => ({
      message: i % 10 === 0 ? `Request TIMEOUT after ${i}ms` : `request ${i} ok`,
      service: ['api', 'web', 'db'][i % 3],
      level: [10, 20, 30, 40, 50, 60][i % 6],
      ts: T0 + i * 60_000,
      attributes: { i, host: `h${i % 2}` },
    })),
  );
  gateway = await startService('gateway', t.env);
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

async function logs(query: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gateway.url}/logs${query}`);
  return { status: res.status, body: await res.json() };
}

describe('GET /logs', () => {
  it('returns the newest 50 by default, newest first, with every field of an item', async () => {
    const { status, body } = await logs('');
    expect(status).toBe(200);
    expect(body.items.length).toBe(50);
    expect(body.items[0].id).toBe(ids[59]);
    expect(body.items.map((i: any) => i.id)).toEqual([...ids].reverse().slice(0, 50));
    expect(body.next_before).toBe(ids[10]);
    const item = body.items[0];
    expect(Object.keys(item).sort()).toEqual(['attributes', 'id', 'level', 'message', 'received_at', 'service', 'timestamp']);
    expect(item).toMatchObject({ level: 'fatal', service: 'db', message: 'request 59 ok', attributes: { i: 59, host: 'h1' }, timestamp: new Date(T0 + 59 * 60_000).toISOString() });
    expect(item.received_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('pages back with before until next_before is null, visiting every row once', async () => {
    const seen: number[] = [];
    let before: number | null = null;
    for (;;) {
      const { body } = await logs(`?limit=7${before ? `&before=${before}` : ''}`);
      seen.push(...body.items.map((i: any) => i.id));
      before = body.next_before;
      if (before === null) break;
    }
    expect(seen).toEqual([...ids].reverse());
  });

  it('catches up oldest first with after', async () => {
    const { body } = await logs(`?after=${ids[54]}&limit=3`);
    expect(body.items.map((i: any) => i.id)).toEqual(ids.slice(55, 58));
    expect(body.next_after).toBe(ids[57]);
  });

  it('filters by service list, minimum level, text and time', async () => {
    const svc = await logs('?service=api,db&limit=1000');
    expect(svc.body.items.length).toBe(40);
    expect(new Set(svc.body.items.map((i: any) => i.service))).toEqual(new Set(['api', 'db']));

    const lvl = await logs('?level=error&limit=1000');
    expect(lvl.body.items.length).toBe(20);
    expect(lvl.body.items.every((i: any) => i.level === 'error' || i.level === 'fatal')).toBe(true);

    const q = await logs('?q=timeout&limit=1000');
    expect(q.body.items.map((i: any) => i.message).sort()).toEqual(Array.from({ length: 6 }, (_, k) => `Request TIMEOUT after ${k * 10}ms`).sort());

    const time = await logs(`?since=${new Date(T0 + 10 * 60_000).toISOString()}&until=${new Date(T0 + 19 * 60_000).toISOString()}&limit=1000`);
    expect(time.body.items.length).toBe(10);

    const combined = await logs('?service=api&level=warn&q=ok&limit=1000');
    expect(combined.body.items.every((i: any) => i.service === 'api' && ['warn', 'error', 'fatal'].includes(i.level) && i.message.includes('ok'))).toBe(true);
    // api is i % 3 == 0; warn and above is i % 6 in {3,4,5}; "ok" excludes the TIMEOUT rows (i % 10 == 0).
    const expected = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 3 === 0 && i % 6 >= 3 && i % 10 !== 0);
    expect(combined.body.items.map((i: any) => i.attributes.i).sort((a: number, b: number) => a - b)).toEqual(expected);
  });

  it('treats LIKE wildcards and SQL in q as plain text', async () => {
    expect((await logs('?q=%25')).body.items).toEqual([]);
    expect((await logs(`?q=${encodeURIComponent("' OR 1=1 --")}`)).body.items).toEqual([]);
  });

  it.each([
    ['?limit=0', 'limit'],
    ['?limit=1001', 'limit'],
    ['?limit=abc', 'limit'],
    ['?level=loud', 'level'],
    ['?before=-1', 'before'],
    ['?after=1.5', 'after'],
    ['?since=yesterday', 'since'],
    ['?service=bad%20name', 'service'],
  ])('answers %s with 400 naming the parameter', async (query, name) => {
    const { status, body } = await logs(query);
    expect(status).toBe(400);
    expect(body.error).toBe('bad_request');
    expect(body.message).toContain(name);
  });
});

describe('GET /logs/<id>', () => {
  it('returns one item, 404 for an unknown id, 400 for a malformed one', async () => {
    const res = await fetch(`${gateway.url}/logs/${ids[3]}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: ids[3], message: 'request 3 ok', service: 'api', level: 'warn' });
    const missing = await fetch(`${gateway.url}/logs/${ids[59]! + 1000}`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toBe('not_found');
    expect((await fetch(`${gateway.url}/logs/abc`)).status).toBe(400);
  });
});

describe('WebSocket /live', () => {
  it('says hello with the head, then pushes only rows matching its filter', async () => {
    const all = await connectLive(gateway.url);
    const warnApi = await connectLive(gateway.url, 'service=api&level=warn');
    const q = await connectLive(gateway.url, 'q=needle');
    expect(all.frames[0]).toEqual({ type: 'hello', head: ids[59], version: 1 });
    const fresh = await seed(t.pool, t.channel, [
      { message: 'live 1', service: 'api', level: 30 },
      { message: 'live 2 NEEDLE', service: 'api', level: 50 },
      { message: 'live 3', service: 'web', level: 60 },
    ]);
    await all.waitForIds(3);
    await warnApi.waitForIds(1);
    await q.waitForIds(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(all.ids).toEqual(fresh);
    expect(warnApi.ids).toEqual([fresh[1]]);
    expect(q.ids).toEqual([fresh[1]]);
    const frame = all.frames.filter((f) => f.type === 'logs').at(-1);
    expect(frame.cursor).toBe(frame.items.at(-1).id);
    await Promise.all([all.close(), warnApi.close(), q.close()]);
  });

  it('replays stored rows after since, then continues live, with no gap and no duplicate', async () => {
    const from = ids[50]!;
    const client = await connectLive(gateway.url, `since=${from}&service=db`);
    const head = Number((await t.pool.query('SELECT max(id) AS m FROM logs')).rows[0].m);
    const expectedReplay = (await t.pool.query(`SELECT id FROM logs WHERE id > $1 AND service = 'db' ORDER BY id`, [from])).rows.map((r) => Number(r.id));
    await client.waitForIds(expectedReplay.length);
    const more = await seed(t.pool, t.channel, [{ message: 'after replay', service: 'db' }, { message: 'other', service: 'web' }]);
    await client.waitForIds(expectedReplay.length + 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(client.ids).toEqual([...expectedReplay, more[0]]);
    expect(head).toBeLessThan(more[0]!);
    await client.close();
  });

  it('replaces the subscription on a subscribe frame and reports bad frames without closing', async () => {
    const client = await connectLive(gateway.url, 'service=nothing-here');
    client.ws.send('not json');
    client.ws.send(JSON.stringify({ type: 'subscribe', filter: { level: 'loud' } }));
    await new Promise((r) => setTimeout(r, 200));
    const errors = client.frames.filter((f) => f.type === 'error');
    expect(errors.map((e) => e.error)).toEqual(['bad_frame', 'bad_filter']);
    client.ws.send(JSON.stringify({ type: 'subscribe', filter: { service: 'web' }, since: ids[56] }));
    await client.waitForIds(1);
    expect(client.ids[0]).toBe(ids[58]); // the first web row after ids[56]
    await client.close();
  });

  it('answers a bad since in the URL with an error frame naming it', async () => {
    const client = await connectLive(gateway.url, 'since=abc');
    const err = await client.waitForFrame('error');
    expect(err.error).toBe('bad_filter');
    expect(err.message).toContain('since must be a row id');
    await client.close();
  });

  it('answers a bad filter in the URL with an error frame and keeps the connection open', async () => {
    const client = await connectLive(gateway.url, 'level=loud');
    const err = await client.waitForFrame('error');
    expect(err.error).toBe('bad_filter');
    expect(err.message).toContain('level');
    client.ws.send(JSON.stringify({ type: 'subscribe', filter: {} }));
    const fresh = await seed(t.pool, t.channel, [{ message: 'after fixing the filter' }]);
    await client.waitForIds(1);
    expect(client.ids).toEqual(fresh);
    await client.close();
  });
});
