// What distinct /live filters cost everyone else (issue 11 point 5): a gateway on its own database, N /live sockets
// each with its own q, rows stored at R rows/s, and GET /health timed every 20 ms meanwhile.
//   node --import tsx scripts/live-filters-health.ts [subscribers=5000] [rows_per_s=100] [seconds=20] [message_bytes=1000]
// Needs the local PostgreSQL (DB_HOST, DB_PORT, POSTGRES_USER as for the tests); prints one JSON line.
import WebSocket from 'ws';
import { seed } from '../test/helpers/seed.js';
import { startService, stopAll, waitUntilReady } from '../test/helpers/services.js';
import { createTestEnv, sleep } from '../test/helpers/test-env.js';

const subscribers = Number(process.argv[2] ?? 5000);
const rate = Number(process.argv[3] ?? 100);
const seconds = Number(process.argv[4] ?? 20);
const messageBytes = Number(process.argv[5] ?? 1000);
const WORDS = 500;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

const t = await createTestEnv('live_filters');
try {
  const gateway = await startService('gateway', { ...t.env, MAX_CONNECTIONS: String(subscribers + 100) });
  await waitUntilReady(gateway);
  const wsUrl = gateway.url.replace(/^http/, 'ws');
  const sockets: WebSocket[] = [];
  let received = 0;
  const started = performance.now();
  for (let i = 0; i < subscribers; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, subscribers - i) }, (_, j) => {
        // Distinct filters: a word and a number, so that no two sockets share a group.
        const ws = new WebSocket(`${wsUrl}/live?q=${encodeURIComponent(`w${(i + j) % WORDS} n${i + j}`)}`);
        ws.on('message', (d) => {
          if (d.toString().startsWith('{"type":"logs"')) received++;
        });
        sockets.push(ws);
        return new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
      }),
    );
  }
  const connectS = (performance.now() - started) / 1000;
  const deadline = Date.now() + seconds * 1000;
  const health: number[] = [];
  let stored = 0;
  const writer = async () => {
    // Every 100 ms a tenth of a second's rows; messages name a few words and numbers, so that some filters match.
    while (Date.now() < deadline) {
      const n = Math.max(1, Math.round(rate / 10));
      const events = Array.from({ length: n }, (_, k) => {
        const x = stored + k;
        const head = `GET /item/${x} w${x % WORDS} n${x % subscribers} took ${x % 97} ms `;
        return { message: head + 'x'.repeat(Math.max(0, messageBytes - head.length)) };
      });
      await seed(t.pool, t.channel, events);
      stored += n;
      await sleep(100);
    }
  };
  const prober = async () => {
    while (Date.now() < deadline) {
      const t0 = performance.now();
      const res = await fetch(`${gateway.url}/health`);
      await res.arrayBuffer();
      health.push(performance.now() - t0);
      await sleep(20);
    }
  };
  await Promise.all([writer(), prober()]);
  health.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      subscribers,
      distinct_filters: subscribers,
      rows_per_s: rate,
      message_bytes: messageBytes,
      seconds,
      connect_s: Number(connectS.toFixed(1)),
      rows_stored: stored,
      frames_received: received,
      health_ms: { n: health.length, p50: Number(pct(health, 50).toFixed(1)), p99: Number(pct(health, 99).toFixed(1)), max: Number(health.at(-1)!.toFixed(1)) },
    }),
  );
  for (const ws of sockets) ws.terminate();
} finally {
  await stopAll();
  await t.cleanup();
}
