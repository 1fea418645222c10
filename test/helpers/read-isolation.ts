// Greedy readers against everyone else (issue 11 point 4): `readers` clients repeat the worst-case searches (a
// /stats count of a word that is nowhere over one 30-day bucket, a /logs search for it, a /live subscribe with it and
// since=0) while a /live subscriber measures how late new rows reach it and a plain reader polls /logs.
import WebSocket from 'ws';
import { connectLive } from './live-client.js';
import { seed } from './seed.js';
import { startService, waitUntilReady } from './services.js';
import { createTestEnv, sleep, waitFor } from './test-env.js';

export interface IsolationOptions {
  /** Rows in the table, each with a ~1 KB message, so that one search reads a few hundred MB. */
  rows: number;
  readers: number;
  durationMs: number;
}

export interface IsolationResult {
  /** Send → receive delay of every probe row on /live, ms, sorted. */
  liveDelays: number[];
  probes: number;
  plainStatuses: number[];
  readerStatuses: Map<number, number>;
  readerRequests: number;
}

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

export async function runIsolation(o: IsolationOptions): Promise<IsolationResult> {
  const t = await createTestEnv('read_isolation');
  try {
    // Straight into the table, spread over the last 29 days (the statement trigger keeps the rollups).
    await t.pool.query(
      `INSERT INTO logs (id, stream_id, event_id, "timestamp", received_at, level, service, message)
         SELECT nextval('logs_id_seq'), 'r-' || i, gen_random_uuid(), now() - (i % 2500000) * interval '1 second', now(), 30, 'api',
                'GET /item/' || i || ' ' || repeat(md5(i::text), 32)
           FROM generate_series(1, ${o.rows}) AS i`,
    );
    await t.pool.query('VACUUM ANALYZE logs');
    const gateway = await startService('gateway', t.env);
    try {
      await waitUntilReady(gateway);
      const ws = gateway.url.replace(/^http/, 'ws');
      const live = await connectLive(gateway.url);
      const delays: number[] = [];
      live.ws.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.type !== 'logs') return;
        for (const item of frame.items) {
          const m = /^probe (\d+)$/.exec(item.message);
          if (m) delays.push(Date.now() - Number(m[1]));
        }
      });

      const deadline = Date.now() + o.durationMs;
      const readerStatuses = new Map<number, number>();
      let readerRequests = 0;
      const count = (status: number) => {
        readerRequests++;
        readerStatuses.set(status, (readerStatuses.get(status) ?? 0) + 1);
      };
      const reader = async (i: number) => {
        while (Date.now() < deadline) {
          const kind = i % 3;
          if (kind === 2) {
            // A replay of the whole table for a word that is nowhere: the server scans until its head.
            const sock = new WebSocket(`${ws}/live?q=absentword&since=0`);
            await new Promise<void>((resolve) => {
              const done = () => resolve();
              sock.once('close', done);
              sock.once('error', done);
              setTimeout(() => {
                sock.terminate();
                resolve();
              }, 2_000);
            });
            count(101);
            continue;
          }
          const path = kind === 0 ? '/stats?window=30d&bucket=30d&q=absentword' : '/logs?q=absentword&limit=1000';
          try {
            const res = await fetch(`${gateway.url}${path}`);
            await res.arrayBuffer();
            count(res.status);
          } catch {
            count(0);
          }
        }
      };
      const plainStatuses: number[] = [];
      const plain = async () => {
        while (Date.now() < deadline) {
          try {
            const res = await fetch(`${gateway.url}/logs?limit=50`, { signal: AbortSignal.timeout(10_000) });
            await res.arrayBuffer();
            plainStatuses.push(res.status);
          } catch {
            plainStatuses.push(0);
          }
          await sleep(200);
        }
      };
      let probes = 0;
      const writer = async () => {
        while (Date.now() < deadline) {
          await seed(t.pool, t.channel, [{ message: `probe ${Date.now()}` }]);
          probes++;
          await sleep(100);
        }
      };
      await Promise.all([...Array.from({ length: o.readers }, (_, i) => reader(i)), plain(), writer()]);
      // Rows still on their way arrive late, and count as late.
      await waitFor('every probe row on /live', () => delays.length >= probes, 60_000).catch(() => {});
      await live.close();
      return { liveDelays: [...delays].sort((a, b) => a - b), probes, plainStatuses, readerStatuses, readerRequests };
    } finally {
      await gateway.kill();
    }
  } finally {
    await t.cleanup();
  }
}
