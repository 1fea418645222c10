// Load generator for the latency scenario: one /live subscriber and `rate` single events per second through
// GET /send, in the same process, so send and receive times come from one clock (performance.now()).
// Then the "batch visible" check of issue 2: POST 1,000 events and poll /logs until all of them are there.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { Histogram } from '../lib/histogram.js';
import { httpClient } from '../lib/http-client.js';
import { finish, fromParent, notify, params, progress, sleep, wallMs } from '../lib/load-child.js';
import { benchEvent } from '../lib/payload.js';

const p = params<{ producerUrl: string; gatewayUrl: string; rate: number; seconds: number; warmupSeconds: number; visibleBatches: number }>();
const SERVICE = 'bench-latency';
// Enough sockets that the generator never queues requests itself (1,000/s at up to 64 ms each).
const send = httpClient(p.producerUrl, 64);
const read = httpClient(p.gatewayUrl, 2);

const total = Math.round(p.rate * (p.seconds + p.warmupSeconds));
const warmup = Math.round(p.rate * p.warmupSeconds);
const sentAt = new Float64Array(total).fill(NaN);
const seen = new Uint8Array(total);
const sendToReceive = new Histogram();
const accept = new Histogram();
// Where send→receive goes (issue 17: p50 14 ms against 0.95 ms of bare hops): the row's received_at (the
// producer's Date.now(), to the millisecond) splits it into client → producer and producer → client, against
// this process's Date.now() at send and receipt (wallMs: performance.timeOrigin differs between processes); how
// late the open-loop schedule sent each event; and this process's own event-loop delay.
const toProducer = new Histogram();
const fromProducer = new Histogram();
const lateSend = new Histogram();
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
const sentWall = new Float64Array(total).fill(NaN);
let received = 0;
let duplicates = 0;
let sendErrors = 0;
let lastError = '';

const ws = new WebSocket(`${p.gatewayUrl.replace(/^http/, 'ws')}/live?service=${SERVICE}`, { perMessageDeflate: false });
await new Promise<void>((resolve, reject) => {
  ws.once('message', () => resolve()); // hello
  ws.once('error', reject);
});
ws.on('message', (data: Buffer) => {
  const now = performance.now();
  const nowWall = wallMs();
  const frame = JSON.parse(data.toString()) as { type: string; items?: { message: string; received_at?: string }[] };
  if (frame.type !== 'logs') return;
  for (const item of frame.items!) {
    const seq = Number(item.message.slice(4));
    if (seen[seq]) {
      duplicates++;
      continue;
    }
    seen[seq] = 1;
    received++;
    if (seq < warmup) continue;
    sendToReceive.record(now - sentAt[seq]!);
    const rt = item.received_at ? Date.parse(item.received_at) : NaN;
    if (Number.isFinite(rt)) {
      // Three clocks truncated to the millisecond alike: the differences are right to ±1 ms, unbiased.
      toProducer.record(Math.max(0, rt - sentWall[seq]!));
      fromProducer.record(Math.max(0, nowWall - rt));
    }
  }
});

// Open loop: events go out on schedule whatever the replies do, so a slow pipeline shows as latency, not as a lower rate.
let sent = 0;
const start = performance.now();
loopDelay.enable();
const timer = setInterval(() => progress(`sent ${sent} / ${total}, received ${received}`), 3000);
await new Promise<void>((resolve) => {
  const tick = () => {
    const due = Math.min(total, Math.floor(((performance.now() - start) * p.rate) / 1000));
    while (sent < due) {
      const seq = sent++;
      const t = performance.now();
      sentAt[seq] = t;
      sentWall[seq] = wallMs();
      if (seq >= warmup) lateSend.record(t - (start + (seq * 1000) / p.rate));
      send('GET', `/send?message=lat%20${seq}&service=${SERVICE}`).then(
        (res) => {
          accept.record(performance.now() - t);
          if (res.status !== 202) {
            sendErrors++;
            lastError = `${res.status} ${res.body.slice(0, 200)}`;
          }
        },
        (err: Error) => {
          sendErrors++;
          lastError = err.message;
        },
      );
    }
    if (sent < total) setTimeout(tick, 1);
    else resolve();
  };
  tick();
});
const elapsed = (performance.now() - start) / 1000;
clearInterval(timer);
loopDelay.disable();
const deadline = Date.now() + 5000;
while (received < total - sendErrors && Date.now() < deadline) await sleep(20);

// The orchestrator reads the services' own histograms for the single-event phase before the batches start.
notify({ type: 'streamed' });
await fromParent('continue');

// Issue 2: "a batch of 1,000 events posted to /send should be visible in /logs within 250 ms".
const visible = new Histogram();
for (let k = 0; k < p.visibleBatches; k++) {
  const service = `bench-visible-${k}`;
  const body = JSON.stringify(Array.from({ length: 1000 }, (_, j) => benchEvent(j, service)));
  const t = performance.now();
  const res = await send('POST', '/send', body);
  if (res.status !== 202) {
    lastError = `visible batch: ${res.status} ${res.body.slice(0, 200)}`;
    break;
  }
  for (;;) {
    const page = await read('GET', `/logs?service=${service}&limit=1000`);
    if ((page.body.match(/\{"id"\s*:/g)?.length ?? 0) >= 1000) break;
    if (performance.now() - t > 10_000) break;
    await sleep(5);
  }
  visible.record(performance.now() - t);
  await sleep(100);
}
ws.close();
finish({
  sent,
  rate: sent / elapsed,
  received,
  lost: sent - sendErrors - received,
  duplicates,
  sendErrors,
  lastError,
  sendToReceive: sendToReceive.summary(),
  accept: accept.summary(),
  batchVisible: visible.summary(),
  breakdown: {
    toProducer: toProducer.summary(),
    fromProducer: fromProducer.summary(),
    lateSend: lateSend.summary(),
    // ns → ms; the histogram's floor is its 1 ms resolution (a timer that fired on time reads ~1 ms).
    loopDelay: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
  },
});
