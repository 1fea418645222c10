// Load generator: a syslog TCP stream as rsyslog forwards one (RFC 5424, octet-counted, one connection per
// `concurrency`), written in chunks of `batch` messages as fast as the producer reads them (it pauses reads under
// backpressure, so a write waits for 'drain'), until `total` messages are written. Syslog has no answer: the
// orchestrator counts them stored. With `serve` it makes one such run per message from the parent.
import { connect, type Socket } from 'node:net';
import { Histogram } from '../lib/histogram.js';
import { finish, notify, params, progress, serveRuns, wallMs } from '../lib/load-child.js';
import { syslogFrames } from '../lib/protocol-bodies.js';

interface Params {
  host: string;
  port: number;
  total: number;
  batch: number;
  concurrency: number;
  serve?: boolean;
}

async function run(p: Params): Promise<object> {
  let next = 0;
  let written = 0;
  // Built before the start, so that the generator spends its measured CPU writing.
  const chunks = Array.from({ length: Math.ceil(p.total / p.batch) }, (_, k) => syslogFrames(k * p.batch, p.batch));
  const latency = new Histogram();
  const sockets = await Promise.all(
    Array.from({ length: p.concurrency }, () => new Promise<Socket>((resolve, reject) => {
      const s = connect(p.port, p.host, () => resolve(s));
      s.once('error', reject);
    })),
  );
  const t0 = wallMs();
  const cpuAtStart = process.cpuUsage();
  notify({ type: 'started', t0 });
  const timer = setInterval(() => progress(`written ${written.toLocaleString('en')} / ${p.total.toLocaleString('en')}`), 2000);

  async function worker(s: Socket): Promise<void> {
    while (next < p.total) {
      const chunk = chunks[next / p.batch]!;
      next += p.batch;
      const start = performance.now();
      // Waits while the producer has paused reading (its queue is full): the stream's backpressure.
      if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
      latency.record(performance.now() - start);
      written += p.batch;
    }
    await new Promise<void>((resolve) => s.end(resolve));
  }

  await Promise.all(sockets.map(worker));
  clearInterval(timer);
  const tEnd = wallMs();
  const cpu = process.cpuUsage(cpuAtStart);
  return { sendCpuSec: (cpu.user + cpu.system) / 1e6, accepted: written, t0, tEnd, acceptedPerSec: written / ((tEnd - t0) / 1000), retried503: 0, errors: 0, lastError: '', request: latency.summary() };
}

const p = params<Params>();
if (p.serve) serveRuns<Params>((more) => run({ ...p, ...more }));
else finish(await run(p));
