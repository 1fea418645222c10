// Live delivery without gaps (issue 3): commit-ordered cursor under concurrent delayed commits, a lost LISTEN
// connection, a client that stops reading, and a gateway restart with resume on another gateway.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeRows } from '../../processor/src/store-batch.js';
import { connectLive, type LiveClient } from '../../test/helpers/live-client.js';
import { seed } from '../../test/helpers/seed.js';
import { startService, stopAll } from '../../test/helpers/services.js';
import { createTestEnv, sleep, waitFor, type TestEnv } from '../../test/helpers/test-env.js';
import { randomUUID } from 'node:crypto';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv('live');
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

const idsAfter = async (after: number, where = 'true') =>
  (await t.pool.query(`SELECT id FROM logs WHERE id > $1 AND ${where} ORDER BY id`, [after])).rows.map((r) => Number(r.id));
const headId = async () => Number((await t.pool.query('SELECT coalesce(max(id), 0) AS m FROM logs')).rows[0].m);

function expectExactly(received: number[], expected: number[]) {
  expect(received.length).toBe(expected.length);
  expect(new Set(received).size).toBe(received.length);
  expect(received).toEqual(expected);
}

/** A subscriber that disconnects and resumes with `since` every `periodMs`, collecting ids across connections. */
function reconnectingSubscriber(url: string, since: number, periodMs: number) {
  const ids: number[] = [];
  let cursor = since;
  let stopped = false;
  const run = (async () => {
    while (!stopped) {
      const c = await connectLive(url, `since=${cursor}`);
      await sleep(periodMs);
      await c.close();
      ids.push(...c.ids);
      cursor = c.cursor || cursor;
    }
  })();
  return {
    ids,
    cursor: () => cursor,
    stop: async () => {
      stopped = true;
      await run;
    },
  };
}

describe('live delivery', () => {
  it('three writers committing concurrently with delayed commits: every subscriber sees every id once, in order', async () => {
    const gateway = await startService('gateway', t.env);
    const start = await headId();
    const live = await connectLive(gateway.url);
    const resumer = reconnectingSubscriber(gateway.url, start, 250);

    // Three "processors": each stores batches through the real store statement inside a transaction whose
    // commit is delayed by a random 0-40 ms, so without the commit-order lock ids would become visible out of order.
    const writer = async (w: number) => {
      for (let b = 0; b < 25; b++) {
        const client = await t.pool.connect();
        try {
          await client.query('BEGIN');
          const rows = Array.from({ length: 1 + ((b * 7 + w) % 20) }, (_, i) =>
            JSON.stringify({ sid: `${w}-${b}-${i}-${randomUUID()}`, eid: randomUUID(), message: `w${w} b${b} r${i}`, level: 30, service: `w${w}`, ts: Date.now(), rt: Date.now(), attributes: {} }),
          );
          await storeRows(client, `[${rows.join(',')}]`, t.channel);
          await client.query('SELECT pg_sleep($1)', [Math.random() * 0.04]);
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      }
    };
    await Promise.all([writer(1), writer(2), writer(3)]);
    const expected = await idsAfter(start);
    expect(expected.length).toBeGreaterThan(200);

    await live.waitForIds(expected.length);
    await waitFor('resumer caught up', () => resumer.cursor() >= expected.at(-1)!);
    await resumer.stop();
    // One more resume from the last cursor must bring nothing new.
    const last = await connectLive(gateway.url, `since=${resumer.cursor()}`);
    await sleep(200);
    await last.close();
    await live.close();
    expectExactly(live.ids, expected);
    expectExactly([...resumer.ids, ...last.ids], expected);
    await gateway.stop();
  });

  it('loses nothing when the LISTEN connection is killed mid-stream (catch-up on reconnect, no poll)', async () => {
    // A poll period far beyond the test: only the reconnect catch-up can recover missed notifications.
    const gateway = await startService('gateway', { ...t.env, POLL_INTERVAL_MS: '600000' });
    const start = await headId();
    const client = await connectLive(gateway.url);
    const findListener = async () =>
      (await t.pool.query(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'logstream-gateway-listen'`, [t.database])).rows.map((r) => r.pid);
    expect((await findListener()).length).toBe(1);

    let killed = 0;
    for (let b = 0; b < 60; b++) {
      await seed(t.pool, t.channel, Array.from({ length: 5 }, (_, i) => ({ message: `listen-kill ${b}.${i}` })));
      if (b === 20 || b === 40) {
        for (const pid of await findListener()) {
          await t.pool.query('SELECT pg_terminate_backend($1)', [pid]);
          killed++;
        }
      }
      await sleep(10);
    }
    expect(killed).toBe(2);
    const expected = await idsAfter(start);
    await client.waitForIds(expected.length, 20_000);
    await sleep(200);
    expectExactly(client.ids, expected);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(Number(/^logstream_listen_reconnects_total\S* (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    await client.close();
    await gateway.stop();
  });

  it('skips rows for a client that stops reading, tells it the exact range, and does not slow others', async () => {
    // The default soft limit (1 MiB, past the kernel's socket buffers): with 64 KiB, a fast client whose test process
    // was descheduled for a moment (the suite runs files in parallel) was once taken for a slow one and skipped.
    const gateway = await startService('gateway', { ...t.env, LIVE_MAX_BACKPRESSURE: '1048576' });
    const start = await headId();
    const fast = await connectLive(gateway.url, 'service=bulk');
    const slow = await connectLive(gateway.url, 'service=bulk');
    // Stop reading: the kernel buffers fill, then the gateway's send buffer for this client grows.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    const big = 'x'.repeat(16 * 1024);
    const rows = 3000;
    for (let b = 0; b < rows / 50; b++) {
      await seed(t.pool, t.channel, Array.from({ length: 50 }, (_, i) => ({ message: `${b}.${i} ${big}`, service: 'bulk' })));
    }
    const expected = await idsAfter(start);
    await fast.waitForIds(expected.length, 30_000);
    expectExactly(fast.ids, expected);
    // 3000 rows × 16 KiB = 48 MiB went out. What the gateway holds for the stalled client is bounded by uWS's
    // maxBackpressure (8 × the soft limit + 256 KiB, live/uws-socket.ts cappedWs); the client is skipped, not disconnected, and
    // told below exactly what it missed. (The gateway's RSS was checked here before; its growth, 33-52 MiB from the
    // fast client's frames alone, was no measure of what it held for the slow one and failed the check at random.)
    expect(slow.ws.readyState).toBe(WebSocket.OPEN);

    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const dropped = await slow.waitForFrame('dropped', 20_000).catch((err) => {
      throw new Error(`${err.message}; slow client got ${slow.ids.length} of ${expected.length} rows, frames: ${[...new Set(slow.frames.map((f) => f.type))].join(',')}`);
    });
    await sleep(500);
    expect(dropped.count).toBeGreaterThan(0);
    const inRange = expected.filter((id) => id >= dropped.from && id <= dropped.to);
    expect(dropped.count).toBe(inRange.length);
    // What it received plus the reported range is everything, with no overlap.
    const received = slow.ids;
    expect(received.filter((id) => id >= dropped.from && id <= dropped.to)).toEqual([]);
    expect([...received, ...inRange].sort((a, b) => a - b)).toEqual(expected);
    // It is live again afterwards.
    const after = await seed(t.pool, t.channel, [{ message: 'after drain', service: 'bulk' }]);
    await waitFor('slow client live again', () => slow.ids.includes(after[0]!));
    await Promise.all([fast.close(), slow.close()]);
    await gateway.stop();
  });

  it('a client resumes on another gateway after its gateway is killed mid-stream', async () => {
    const [a, b] = await Promise.all([startService('gateway', t.env), startService('gateway', t.env)]);
    const start = await headId();
    const first: LiveClient = await connectLive(a.url, 'service=restart');
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await seed(t.pool, t.channel, [{ message: `restart ${i}`, service: 'restart' }, { message: `noise ${i}`, service: 'noise' }]);
        await sleep(5);
      }
    })();
    await first.waitForIds(20);
    await a.kill();
    await waitFor('first client closed', () => first.ws.readyState === first.ws.CLOSED);
    const second = await connectLive(b.url, `service=restart&since=${first.cursor}`);
    await sleep(300);
    writing = false;
    await writer;
    const expected = await idsAfter(start, `service = 'restart'`);
    await second.waitForIds(expected.length - first.ids.length);
    await sleep(200);
    expectExactly([...first.ids, ...second.ids], expected);
    await second.close();
    await b.stop();
  });
});
