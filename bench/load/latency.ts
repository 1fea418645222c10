// Load generator for the latency scenario: one /live subscriber and `rate` single events per second through
// GET /send, in the same process, so send and receive times come from one clock (performance.now()).
// With `alternate` (another server: the bare chain), the events go to the two servers in turns of `sliceSeconds`
// (ABAB…), each with its own subscriber and histograms, so that both see the machine as it is during the same
// seconds: measured one after the other, the bare chain's p99 moved 6.8-49 ms between the repetitions of one run
// while the pipeline's stayed at 14-17 ms. `seconds` and `warmupSeconds` are each server's.
// Then the "batch visible" check of issue 2: POST 1,000 events and poll /logs until all of them are there.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { Histogram } from '../lib/histogram.js';
import { httpClient } from '../lib/http-client.js';
import { finish, fromParent, notify, params, progress, sleep, wallMs } from '../lib/load-child.js';
import { benchEvent } from '../lib/payload.js';
import { slotAt } from '../lib/slices.js';

interface Server {
  producerUrl: string;
  gatewayUrl: string;
}
const p = params<Server & { rate: number; seconds: number; warmupSeconds: number; visibleBatches: number; alternate?: Server; sliceSeconds?: number }>();
const SERVICE = 'bench-latency';
const servers: Server[] = [p, ...(p.alternate ? [p.alternate] : [])];
const sliceMs = p.alternate ? (p.sliceSeconds ?? 1) * 1000 : Infinity;

const total = Math.round(p.rate * (p.seconds + p.warmupSeconds) * servers.length);
const sentAt = new Float64Array(total).fill(NaN);
const seen = new Uint8Array(total);
/** Whether each event fell in its server's warm-up. */
const warm = new Uint8Array(total);
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
const sentWall = new Float64Array(total).fill(NaN);

// Where send→receive goes (issue 17: p50 14 ms against 0.95 ms of bare hops): the row's received_at (the
// producer's Date.now(), to the millisecond) splits it into client → producer and producer → client, against
// this process's Date.now() at send and receipt (wallMs: performance.timeOrigin differs between processes); how
// late the open-loop schedule sent each event; and this process's own event-loop delay.
class Target {
  // Enough sockets that the generator never queues requests itself (1,000/s at up to 64 ms each).
  readonly send: ReturnType<typeof httpClient>;
  readonly read: ReturnType<typeof httpClient>;
  readonly sendToReceive = new Histogram();
  readonly accept = new Histogram();
  readonly toProducer = new Histogram();
  readonly fromProducer = new Histogram();
  readonly lateSend = new Histogram();
  sent = 0;
  received = 0;
  duplicates = 0;
  sendErrors = 0;
  lastError = '';
  ws!: WebSocket;

  constructor(readonly server: Server) {
    this.send = httpClient(server.producerUrl, 64);
    this.read = httpClient(server.gatewayUrl, 2);
  }

  async subscribe(): Promise<void> {
    this.ws = new WebSocket(`${this.server.gatewayUrl.replace(/^http/, 'ws')}/live?service=${SERVICE}`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      this.ws.once('message', () => resolve()); // hello
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data: Buffer) => this.onFrame(data));
  }

  private onFrame(data: Buffer): void {
    const now = performance.now();
    const nowWall = wallMs();
    const frame = JSON.parse(data.toString()) as { type: string; items?: { message: string; received_at?: string }[] };
    if (frame.type !== 'logs') return;
    for (const item of frame.items!) {
      const seq = Number(item.message.slice(4));
      if (seen[seq]) {
        this.duplicates++;
        continue;
      }
      seen[seq] = 1;
      this.received++;
      if (warm[seq]) continue;
      this.sendToReceive.record(now - sentAt[seq]!);
      const rt = item.received_at ? Date.parse(item.received_at) : NaN;
      if (Number.isFinite(rt)) {
        // Three clocks truncated to the millisecond alike: the differences are right to ±1 ms, unbiased.
        this.toProducer.record(Math.max(0, rt - sentWall[seq]!));
        this.fromProducer.record(Math.max(0, nowWall - rt));
      }
    }
  }

  summary() {
    return {
      sent: this.sent,
      received: this.received,
      lost: this.sent - this.sendErrors - this.received,
      duplicates: this.duplicates,
      sendErrors: this.sendErrors,
      lastError: this.lastError,
      sendToReceive: this.sendToReceive.summary(),
      accept: this.accept.summary(),
      toProducer: this.toProducer.summary(),
      fromProducer: this.fromProducer.summary(),
      lateSend: this.lateSend.summary(),
    };
  }
}

const targets = servers.map((s) => new Target(s));
for (const t of targets) await t.subscribe();
const received = () => targets.reduce((n, t) => n + t.received, 0);
const errors = () => targets.reduce((n, t) => n + t.sendErrors, 0);

// Open loop: events go out on schedule whatever the replies do, so a slow pipeline shows as latency, not as a lower rate.
let sent = 0;
const start = performance.now();
loopDelay.enable();
const timer = setInterval(() => progress(`sent ${sent} / ${total}, received ${received()}`), 3000);
await new Promise<void>((resolve) => {
  const tick = () => {
    const due = Math.min(total, Math.floor(((performance.now() - start) * p.rate) / 1000));
    while (sent < due) {
      const seq = sent++;
      const t = performance.now();
      const due = (seq * 1000) / p.rate;
      const slot = slotAt(due, sliceMs, targets.length, p.warmupSeconds * 1000);
      const target = targets[slot.server]!;
      warm[seq] = slot.warm ? 1 : 0;
      sentAt[seq] = t;
      sentWall[seq] = wallMs();
      target.sent++;
      if (!warm[seq]) target.lateSend.record(t - (start + due));
      target.send('GET', `/send?message=lat%20${seq}&service=${SERVICE}`).then(
        (res) => {
          target.accept.record(performance.now() - t);
          if (res.status !== 202) {
            target.sendErrors++;
            target.lastError = `${res.status} ${res.body.slice(0, 200)}`;
          }
        },
        (err: Error) => {
          target.sendErrors++;
          target.lastError = err.message;
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
while (received() < total - errors() && Date.now() < deadline) await sleep(20);

// The orchestrator reads the services' own histograms for the single-event phase before the batches start.
notify({ type: 'streamed' });
await fromParent('continue');

// Issue 2: "a batch of 1,000 events posted to /send should be visible in /logs within 250 ms" (the first server).
const visible = new Histogram();
const first = targets[0]!;
let visibleError = '';
for (let k = 0; k < p.visibleBatches; k++) {
  const service = `bench-visible-${k}`;
  const body = JSON.stringify(Array.from({ length: 1000 }, (_, j) => benchEvent(j, service)));
  const t = performance.now();
  const res = await first.send('POST', '/send', body);
  if (res.status !== 202) {
    visibleError = `visible batch: ${res.status} ${res.body.slice(0, 200)}`;
    break;
  }
  for (;;) {
    const page = await first.read('GET', `/logs?service=${service}&limit=1000`);
    if ((page.body.match(/\{"id"\s*:/g)?.length ?? 0) >= 1000) break;
    if (performance.now() - t > 10_000) break;
    await sleep(5);
  }
  visible.record(performance.now() - t);
  await sleep(100);
}
for (const t of targets) t.ws.close();
// ns → ms; the histogram's floor is its 1 ms resolution (a timer that fired on time reads ~1 ms).
const loop = { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
/** One server's figures, in the shape the latency scenario reads (LatencyResult). */
const result = (t: Target, batchVisible?: Histogram) => {
  const s = t.summary();
  return {
    sent: s.sent,
    // While it was being sent to: each server had 1 / n of the time.
    rate: s.sent / (elapsed / targets.length),
    received: s.received,
    lost: s.lost,
    duplicates: s.duplicates,
    sendErrors: s.sendErrors,
    lastError: visibleError && batchVisible ? visibleError : s.lastError,
    sendToReceive: s.sendToReceive,
    accept: s.accept,
    batchVisible: (batchVisible ?? new Histogram()).summary(),
    breakdown: { toProducer: s.toProducer, fromProducer: s.fromProducer, lateSend: s.lateSend, loopDelay: loop },
  };
};
finish({ ...result(first, visible), ...(targets[1] ? { alternate: result(targets[1]) } : {}) });
