// The same search finds the same rows on every path (issue 11 point 7), through the gateway process: q=ΟΔΟΣ and
// q=İ, where JavaScript and PostgreSQL lower-case differently, give /live the rows that /logs, /stats and a
// `since` replay give.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLive, type LiveClient } from '../../test/helpers/live-client.js';
import { seed } from '../../test/helpers/seed.js';
import { startService, stopAll, waitUntilReady, type Service } from '../../test/helpers/services.js';
import { createTestEnv, sleep, waitFor, type TestEnv } from '../../test/helpers/test-env.js';

let t: TestEnv;
let gateway: Service;
const MESSAGES = ['ΟΔΟΣ κλειστή', 'η οδος', 'οδοσ', 'ΟΔΟΣΑ', 'İstanbul', 'istanbul', 'i\u0307stanbul', 'ISTANBUL', 'ıstanbul', 'plain'];
const QUERIES = ['ΟΔΟΣ', 'οδος', 'İ', 'i̇', 'İSTANBUL'];

beforeAll(async () => {
  t = await createTestEnv('text_paths');
  gateway = await startService('gateway', t.env);
  await waitUntilReady(gateway);
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

describe('a text search on /live, /logs, /stats and a replay', () => {
  it('finds the same rows on every path', async () => {
    const live = new Map<string, LiveClient>();
    for (const q of QUERIES) live.set(q, await connectLive(gateway.url, `q=${encodeURIComponent(q)}`));
    // A last subscriber without q sees every row: once it has them all, every filtered one has had its chance too.
    const all = await connectLive(gateway.url);
    await sleep(100);
    const ids = await seed(t.pool, t.channel, MESSAGES.map((message) => ({ message })));
    await all.waitForIds(ids.length);
    await sleep(300);
    for (const q of QUERIES) {
      const enc = encodeURIComponent(q);
      const logs = await (await fetch(`${gateway.url}/logs?q=${enc}&limit=100`)).json();
      const stored = logs.items.map((i: { id: number }) => i.id).sort((a: number, b: number) => a - b);
      expect(stored.length, q).toBeGreaterThan(0);
      expect(live.get(q)!.ids, `q=${q}: /live against /logs`).toEqual(stored);
      const stats = await (await fetch(`${gateway.url}/stats?window=1h&q=${enc}`)).json();
      expect(stats.total, `q=${q}: /stats`).toBe(stored.length);
      const replay = await connectLive(gateway.url, `q=${enc}&since=0`);
      await waitFor(`replay of q=${q}`, () => replay.ids.length >= stored.length || undefined, 10_000);
      await sleep(100);
      expect(replay.ids, `q=${q}: replay`).toEqual(stored);
      await replay.close();
    }
    for (const c of [...live.values(), all]) await c.close();
  });
});
