// Load generator: POST /send batches of ~200-byte events as fast as the producer takes them, `concurrency`
// requests in flight, until `total` events are accepted. The orchestrator watches them being stored.
// With `protocol` (the shippers scenario) the batches go to that protocol's path in its encoding instead; with
// `serve` the generator stays up and makes one such run per message from the parent (load-child.ts serveRuns).
import { Histogram } from '../lib/histogram.js';
import { httpClient } from '../lib/http-client.js';
import { finish, notify, params, progress, serveRuns, sleep, wallMs } from '../lib/load-child.js';
import { benchEvent } from '../lib/payload.js';
import { ACCEPTED_STATUS, httpBody, refusedInAnswer, type HttpProtocol } from '../lib/protocol-bodies.js';

interface Params {
  url: string;
  total: number;
  batch: number;
  concurrency: number;
  protocol?: HttpProtocol;
  serve?: boolean;
}

// Distinct pre-serialized bodies, cycled: the generator spends its CPU sending, not building JSON. A shipper
// protocol's bodies are all built before the start instead, one per request: their event ids come from the body,
// so a body must not repeat.
const BODIES = 20;
function buildBodies(p: Params): { path: string; contentType: string; body: string | Buffer }[] {
  if (p.protocol) return Array.from({ length: Math.ceil(p.total / p.batch) }, (_, k) => httpBody(p.protocol!, k * p.batch, p.batch));
  return Array.from({ length: BODIES }, (_, k) => ({ path: '/send', contentType: 'application/json', body: JSON.stringify(Array.from({ length: p.batch }, (_, j) => benchEvent(k * p.batch + j))) }));
}

async function run(p: Params): Promise<object> {
  const request = httpClient(p.url, p.concurrency);
  const bodies = buildBodies(p);
  const okStatus = p.protocol ? ACCEPTED_STATUS[p.protocol] : 202;
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
      const { path, body, contentType } = bodies[k % bodies.length]!;
      for (;;) {
        const start = performance.now();
        try {
          const res = await request('POST', path, body, contentType);
          latency.record(performance.now() - start);
          const refused = res.status === okStatus && p.protocol ? refusedInAnswer(p.protocol, res.body) : undefined;
          if (refused) {
            errors++;
            lastError = refused;
            break;
          }
          if (res.status === okStatus) {
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
  return { sendCpuSec: (cpu.user + cpu.system) / 1e6, accepted, t0, tEnd, seconds: (tEnd - t0) / 1000, acceptedPerSec: accepted / ((tEnd - t0) / 1000), retried503, errors, lastError, request: latency.summary() };
}

const p = params<Params>();
if (p.serve) serveRuns<Params>((more) => run({ ...p, ...more }));
else finish(await run(p));
