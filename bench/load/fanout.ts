// Load generator for the fanout scenario: `subscribers` /live clients spread over `processes` subscriber
// processes, then `rate` single events per second through GET /send, each carrying its send time.
import { Histogram, type HistogramJson } from '../lib/histogram.js';
import { httpClient } from '../lib/http-client.js';
import { startLoad } from '../lib/load.js';
import { finish, fromParent, notify, params, progress, sleep, wallMs } from '../lib/load-child.js';

const p = params<{
  gatewayUrl: string;
  producerUrl: string;
  subscribers: number;
  processes: number;
  rate: number;
  seconds: number;
  sampleEvery: number;
  batch: number;
  /** The native client binary (bench/load/native/ws-subscribers.c), or none for Node `ws` clients. */
  binary?: string;
}>();
const SERVICE = 'bench-fanout';

interface SubResult {
  /** Bytes the subscribers read after they were all connected. */
  bytes: number;
  clients: number;
  sampled: number;
  complete: number;
  short: number;
  extra: number;
  droppedClients: number;
  droppedRows: number;
  closed: number;
  frames: number;
  items: number;
  receiveCpuSec: number;
  latency: HistogramJson;
}

type Summary = ReturnType<Histogram['summary']>;

/** What this generator reports (load-child's finish adds cpuSec); bench/scenarios/fanout.ts reads it. */
export interface FanoutResult {
  /** Bytes the subscribers read while the events were sent (frames, with headers for the native client). */
  bytes: number;
  clients: number;
  connectSeconds: number;
  sent: number;
  sendErrors: number;
  lastError: string;
  complete: number;
  short: number;
  extra: number;
  droppedClients: number;
  droppedRows: number;
  closed: number;
  sampledClients: number;
  rowsPerFrame: number;
  subscriberCpuSec: number;
  sendToReceive: Summary;
  accept: Summary;
  cpuSec: number;
}

const per = Math.ceil(p.subscribers / p.processes);
const subs = Array.from({ length: p.processes }, (_, i) =>
  startLoad<SubResult>(
    p.binary ? 'load/subscribers-native.ts' : 'load/subscribers.ts',
    { gatewayUrl: p.gatewayUrl, count: Math.min(per, p.subscribers - i * per), sampleEvery: p.sampleEvery, offset: i * per, binary: p.binary },
    progress,
  ),
);
const connected = await Promise.all(subs.map((s) => s.next('connected')));
const clients = connected.reduce((n, m) => n + Number(m.clients), 0);
const connectSeconds = Math.max(...connected.map((m) => Number(m.seconds)));
progress(`${clients} subscribers connected in ${connectSeconds.toFixed(1)} s`);
notify({ type: 'connected', clients, connectSeconds, pids: subs.map((s) => s.pid) });
await fromParent('go');

const send = httpClient(p.producerUrl, 8);
const accept = new Histogram();
const total = Math.round(p.rate * p.seconds);
let sent = 0;
let ok = 0;
let errors = 0;
let lastError = '';
const start = performance.now();
const timer = setInterval(() => progress(`sent ${sent} / ${total}`), 5000);
await new Promise<void>((resolve) => {
  const tick = () => {
    const due = Math.min(total, Math.floor(((performance.now() - start) * p.rate) / 1000));
    while (sent + p.batch <= due || (sent < due && due === total)) {
      const n = Math.min(p.batch, total - sent);
      const seqs = Array.from({ length: n }, (_, i) => sent + i);
      sent += n;
      const t = performance.now();
      const now = wallMs();
      // Single events by default (GET /send); with batch > 1, one POST of `batch` events every batch/rate s.
      const request =
        n === 1
          ? send('GET', `/send?message=fan%20${seqs[0]}%20${now}&service=${SERVICE}`)
          : send('POST', '/send', JSON.stringify(seqs.map((seq) => ({ message: `fan ${seq} ${now}`, service: SERVICE }))));
      request.then(
        (res) => {
          accept.record(performance.now() - t);
          if (res.status === 202) ok += n;
          else {
            errors += n;
            lastError = `${res.status} ${res.body.slice(0, 200)}`;
          }
        },
        (err: Error) => {
          errors += n;
          lastError = err.message;
        },
      );
    }
    if (sent < total) setTimeout(tick, 2);
    else resolve();
  };
  tick();
});
clearInterval(timer);
while (ok + errors < sent) await sleep(10);

for (const s of subs) s.send({ type: 'report', expected: ok, timeoutMs: 10_000 });
const results = await Promise.all(subs.map((s) => s.result));
const latency = new Histogram();
for (const r of results) latency.merge(r.latency);
const sum = (k: keyof Omit<SubResult, 'latency'>) => results.reduce((n, r) => n + r[k], 0);
finish({
  bytes: sum('bytes'),
  clients,
  connectSeconds,
  sent: ok,
  sendErrors: errors,
  lastError,
  complete: sum('complete'),
  short: sum('short'),
  extra: sum('extra'),
  droppedClients: sum('droppedClients'),
  droppedRows: sum('droppedRows'),
  closed: sum('closed'),
  sampledClients: sum('sampled'),
  rowsPerFrame: sum('items') / Math.max(1, sum('frames')),
  subscriberCpuSec: sum('receiveCpuSec'),
  sendToReceive: latency.summary(),
  accept: accept.summary(),
} satisfies Omit<FanoutResult, 'cpuSec'>);
