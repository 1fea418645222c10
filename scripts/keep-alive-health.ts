// What a keep-alive flood over the fd limit costs everyone else (issue 11 point 5): a gateway on its own database,
// its open-files limit lowered to `limit` once it runs (prlimit; MAX_CONNECTIONS set to fit: limit - 1,024),
// `clients` HTTP keep-alive clients asking GET /logs?limit=1 every 1.5-4.5 s, and GET /health timed every 200 ms
// on a new connection meanwhile (5 s without an answer is a timeout).
//   node --import tsx scripts/keep-alive-health.ts [clients=5000] [limit=4000] [seconds=30]
// Needs the local PostgreSQL and Redis as for the tests, and util-linux's prlimit; prints one JSON line.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { FD_RESERVE } from '@logstream/shared/connection-cap.js';
import { startFlood } from '../test/helpers/keep-alive-flood.js';
import { rawRequest } from '../test/helpers/raw-http.js';
import { startService, stopAll, waitUntilReady } from '../test/helpers/services.js';
import { createTestEnv, sleep } from '../test/helpers/test-env.js';

const clients = Number(process.argv[2] ?? 5000);
const limit = Number(process.argv[3] ?? 4000);
const seconds = Number(process.argv[4] ?? 30);

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

const t = await createTestEnv('keep_alive_health');
try {
  const gateway = await startService('gateway', { ...t.env, MAX_CONNECTIONS: String(limit - FD_RESERVE) });
  await waitUntilReady(gateway);
  const pid = gateway.proc.pid!;
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`]);
  const fds = () => statSync(`/proc/${pid}/fd`).size;
  const before = fds();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, fds())), 10);
  const answers: Record<string, number> = {};
  const flood = startFlood({
    port: gateway.port, clients, maxConnecting: 200, pauseMs: 3_000,
    request: () => 'GET /logs?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n',
    onAnswer: (_n, a) => {
      const key = a.status === 503 ? `503 ${/"error":"(\w+)"/.exec(a.body)?.[1]}` : String(a.status);
      answers[key] = (answers[key] ?? 0) + 1;
    },
  });
  await sleep(10_000);
  const health: number[] = [];
  let timeouts = 0;
  for (const end = Date.now() + seconds * 1000; Date.now() < end; await sleep(200)) {
    const t0 = performance.now();
    try {
      const r = await rawRequest(gateway.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', 5_000);
      if (r.status === 200) health.push(performance.now() - t0);
      else timeouts++;
    } catch {
      timeouts++;
    }
  }
  await flood.stop();
  clearInterval(sampler);
  health.sort((a, b) => a - b);
  const ms = (v: number) => Math.round(v * 10) / 10;
  console.log(JSON.stringify({
    clients, limit, maxConnections: limit - FD_RESERVE, fdsBefore: before, fdsPeak: peak, answers,
    health: { answered: health.length, timeouts, p50: ms(pct(health, 50)), p99: ms(pct(health, 99)), max: ms(health[health.length - 1] ?? NaN) },
    load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  }));
} finally {
  await stopAll();
  await t.cleanup();
}
