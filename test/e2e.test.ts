// End to end with real processes: /send → stream → processors → PostgreSQL → /live and /logs; then the
// fault-tolerance demo: processors stopped, events sent, processors started, every event stored exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLive } from './helpers/live-client.js';
import { startService, stopAll, waitUntilReady, type Service } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
let producer: Service;
let gateway: Service;
let processors: Service[] = [];

beforeAll(async () => {
  t = await createTestEnv('e2e');
  const env = { ...t.env, CLAIM_IDLE_MS: '1000', CLAIM_INTERVAL_MS: '500', BLOCK_MS: '200' };
  [producer, gateway, ...processors] = await Promise.all([
    startService('producer', env),
    startService('gateway', env),
    startService('processor', env),
    startService('processor', env),
  ]);
  await Promise.all([producer, gateway].map((s) => waitUntilReady(s)));
});

afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

async function storedMessages(prefix: string): Promise<string[]> {
  const { rows } = await t.pool.query<{ message: string }>('SELECT message FROM logs WHERE message LIKE $1 ORDER BY id', [`${prefix}%`]);
  return rows.map((r) => r.message);
}

describe('pipeline end to end', () => {
  it('delivers an event sent to /send live and through /logs', async () => {
    const live = await connectLive(gateway.url, 'service=e2e');
    const res = await fetch(`${producer.url}/send?message=hello%20e2e&service=e2e&level=warn`);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; ids: string[] };
    expect(body.accepted).toBe(1);
    // The event id: a UUID, which GET /logs/<id> finds once the row is stored.
    expect(body.ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    await live.waitForIds(1);
    const frame = live.frames.find((f) => f.type === 'logs');
    expect(frame.items[0]).toMatchObject({ message: 'hello e2e', service: 'e2e', level: 'warn' });
    expect(frame.cursor).toBe(frame.items[0].id);

    const logs = (await (await fetch(`${gateway.url}/logs?service=e2e&limit=5`)).json()) as { items: { id: number; message: string }[] };
    expect(logs.items.map((i) => i.message)).toEqual(['hello e2e']);
    expect(logs.items[0]!.id).toBe(frame.cursor);
    const byEventId = await fetch(`${gateway.url}/logs/${body.ids[0]}`);
    expect(byEventId.status).toBe(200);
    expect(await byEventId.json()).toMatchObject({ id: frame.cursor, message: 'hello e2e' });
    expect(await (await fetch(`${gateway.url}/logs/${body.ids[0]!.toUpperCase()}`)).json()).toMatchObject({ id: frame.cursor });
    expect((await fetch(`${gateway.url}/logs/${frame.cursor}`)).status).toBe(200);
    const unknown = await fetch(`${gateway.url}/logs/00000000-0000-4000-8000-000000000000`);
    expect(unknown.status).toBe(404);
    const bad = await fetch(`${gateway.url}/logs/1764180000000-0`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toBe('GET /logs/<id> takes a row id (the "id" of an item, an integer) or an event id (a UUID, as in the "ids" of a 202), got "1764180000000-0"');
    await live.close();
  });

  it('keeps events in the stream while processors are down and stores each exactly once when they return', async () => {
    await Promise.all(processors.map((p) => p.stop()));
    const sent: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const events = Array.from({ length: 200 }, (_, i) => ({ message: `down-${batch}-${i}`, service: 'e2e-down' }));
      const res = await fetch(`${producer.url}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
      expect(res.status).toBe(202);
      sent.push(...events.map((e) => e.message));
    }
    // Nothing is stored while no processor runs; the events wait in the stream.
    await new Promise((r) => setTimeout(r, 500));
    expect(await storedMessages('down-')).toEqual([]);
    expect(await t.redis.xlen(t.stream)).toBeGreaterThanOrEqual(1000);

    processors = await Promise.all([startService('processor', { ...t.env, BLOCK_MS: '200' }), startService('processor', { ...t.env, BLOCK_MS: '200' })]);
    const stored = await waitFor('all 1000 events stored', async () => {
      const m = await storedMessages('down-');
      return m.length >= 1000 ? m : undefined;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    const final = await storedMessages('down-');
    expect(final.length).toBe(1000);
    expect(new Set(final).size).toBe(1000);
    expect([...stored].sort()).toEqual([...sent].sort());
  });
});
