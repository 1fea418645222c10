// Several streams into one table (issue 11.3): two Redis servers, a producer and processors on each, one database.
// Entry ids repeat across streams (every stream written in the same millisecond makes "<ms>-0"), so rows must be
// unique by event id, not by stream id: nothing lost, nothing doubled, and a redelivery still stored once.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { replyToMap } from '@logstream/shared/redis.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from './helpers/private-redis.js';
import { startService, stopAll, waitUntilReady, type Service } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

const PER_PRODUCER = 6_000;
const PER_REQUEST = 500;
/** Entries added with the same explicit ids on both servers: the collision that today's load makes by chance. */
const SAME_IDS = Array.from({ length: 50 }, (_, i) => `1000-${i}`);

let t: TestEnv;
const servers: PrivateRedis[] = [];
const clients: Redis[] = [];
const producers: Service[] = [];

beforeAll(async () => {
  t = await createTestEnv('streams');
  servers.push(await startPrivateRedis(), await startPrivateRedis());
  for (const s of servers) {
    const c = new Redis({ port: s.port, maxRetriesPerRequest: 1 });
    c.on('error', () => {});
    clients.push(c);
  }
}, 60_000);
afterAll(async () => {
  await stopAll();
  for (const c of clients) c.disconnect();
  await Promise.all(servers.map((s) => s.destroy()));
  await t.cleanup();
});

const count = async (where: string, values: unknown[] = []) => Number((await t.pool.query(`SELECT count(*) AS n FROM logs WHERE ${where}`, values)).rows[0].n);

async function send(producer: Service, prefix: string): Promise<void> {
  for (let start = 0; start < PER_PRODUCER; start += PER_REQUEST) {
    const body = JSON.stringify(Array.from({ length: PER_REQUEST }, (_, i) => ({ message: `${prefix}-${start + i}`, service: 'streams' })));
    const res = await fetch(`${producer.url}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(202);
    await res.arrayBuffer();
  }
}

describe('two streams on two Redis servers into one table', () => {
  it('stores every event of both exactly once, even where entry ids are the same on both streams', async () => {
    // Before the processors start: the same entry ids on both streams, in the producer's form and in another tool's.
    for (const [n, c] of clients.entries()) {
      const p = c.pipeline();
      for (const [i, id] of SAME_IDS.entries()) {
        if (i % 2 === 0) p.xadd(t.stream, id, 'e', JSON.stringify({ eid: randomUUID(), message: `same-${n}-${i}`, level: 30, service: 'streams', ts: Date.now(), rt: Date.now(), attributes: {} }));
        else p.xadd(t.stream, id, 'message', `same-${n}-${i}`, 'service', 'streams');
      }
      p.xgroup('CREATE', t.stream, 'holder', '0');
      await p.exec();
    }
    for (const s of servers) {
      const env = { ...t.env, REDIS_PORT: String(s.port), BLOCK_MS: '100' };
      const [producer] = await Promise.all([startService('producer', env), startService('processor', env), startService('processor', env)]);
      producers.push(producer!);
    }
    await Promise.all(producers.map((p) => waitUntilReady(p)));
    await Promise.all(producers.map((p, n) => send(p, `load-${n}`)));

    const expected = 2 * (PER_PRODUCER + SAME_IDS.length);
    await waitFor(`${expected} rows`, async () => (await count(`service = 'streams'`)) >= expected, 60_000, 200);
    await waitFor('nothing pending', async () => {
      for (const c of clients) if (Number(((await c.xpending(t.stream, t.group)) as unknown[])[0]) !== 0) return false;
      return true;
    });
    expect(await count(`service = 'streams'`)).toBe(expected);
    // Each message once: none lost, none doubled.
    const { rows } = await t.pool.query<{ n: number }>(`SELECT count(DISTINCT message)::int AS n FROM logs WHERE service = 'streams'`);
    expect(rows[0]!.n).toBe(expected);
    for (const n of [0, 1]) expect(await count(`message LIKE $1`, [`same-${n}-%`])).toBe(SAME_IDS.length);
    // Both streams' copies of each same id are there, one row each.
    expect(await count(`stream_id = ANY($1)`, [SAME_IDS])).toBe(2 * SAME_IDS.length);

    // Every entry of the first stream delivered again (as after a crash between commit and XACK): no new row.
    // (The idle group "holder" keeps the processors from trimming the stream, so all of them are still there.)
    await clients[0]!.xgroup('SETID', t.stream, t.group, '0');
    const last = (await clients[0]!.xrevrange(t.stream, '+', '-', 'COUNT', 1))[0]![0];
    await waitFor('every entry delivered again and acked', async () => {
      const groups = ((await clients[0]!.xinfo('GROUPS', t.stream)) as unknown[][]).map(replyToMap);
      const g = groups.find((x) => x.get('name') === t.group)!;
      return Number(g.get('pending')) === 0 && g.get('last-delivered-id') === last;
    }, 60_000, 200);
    expect(await count(`service = 'streams'`)).toBe(expected);
  });
});
