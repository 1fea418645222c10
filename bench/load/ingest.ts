// Load generator: POST /send batches of ~200-byte events as fast as the producer takes them, `concurrency`
// requests in flight, until `total` events are accepted. The orchestrator watches them being stored.
import { Histogram } from '../lib/histogram.js';
import { httpClient } from '../lib/http-client.js';
import { finish, notify, params, progress, sleep, wallMs } from '../lib/load-child.js';
import { benchEvent } from '../lib/payload.js';

const p = params<{ url: string; total: number; batch: number; concurrency: number }>();
const request = httpClient(p.url, p.concurrency);

// Distinct pre-serialized bodies, cycled: the generator spends its CPU sending, not building JSON.
const BODIES = 20;
const bodies = Array.from({ length: BODIES }, (_, k) => JSON.stringify(Array.from({ length: p.batch }, (_, j) => benchEvent(k * p.batch + j))));

const latency = new Histogram();
let next = 0;
let accepted = 0;
let retried503 = 0;
let errors = 0;
let lastError = '';
const t0 = wallMs();
const cpuAtStart = process.cpuUsage();
notify({ type: 'started', t0 });

const timer = setInterval(() => progress(`accepted ${accepted.toLocaleString('en')} / ${p.total.toLocaleString('en')} (${Math.round(accepted / ((wallMs() - t0) / 1000)).toLocaleString('en')} events/s)`), 2000);

async function worker(): Promise<void> {
  while (next < p.total && errors < 20) {
    const k = next / p.batch;
    next += p.batch;
    const body = bodies[k % BODIES]!;
    for (;;) {
      const start = performance.now();
      try {
        const res = await request('POST', '/send', body);
        latency.record(performance.now() - start);
        if (res.status === 202) {
          accepted += p.batch;
          break;
        }
        if (res.status === 503 || res.status === 429) {
          // Backlog over STREAM_MAX_BACKLOG: the producer asks us to wait; that is the system working, not an error.
          retried503++;
          await sleep(Number(res.headers['retry-after'] ?? 1) * 1000);
          continue;
        }
        errors++;
        lastError = `${res.status} ${res.body.slice(0, 200)}`;
        break;
      } catch (err) {
        errors++;
        lastError = (err as Error).message;
        break;
      }
    }
  }
}

await Promise.all(Array.from({ length: p.concurrency }, worker));
clearInterval(timer);
const tEnd = wallMs();
const cpu = process.cpuUsage(cpuAtStart);
finish({ sendCpuSec: (cpu.user + cpu.system) / 1e6, accepted, t0, tEnd, seconds: (tEnd - t0) / 1000, acceptedPerSec: accepted / ((tEnd - t0) / 1000), retried503, errors, lastError, request: latency.summary() });
