// Load generator for the soak scenario: `rate` events/s as POST /send batches of `batch`, paced evenly, with one
// /live subscriber counting what arrives.
import WebSocket from 'ws';
import { Histogram } from '../lib/histogram.js';
import { httpClient } from '../lib/http-client.js';
import { finish, params, progress, sleep } from '../lib/load-child.js';
import { benchEvent } from '../lib/payload.js';

const p = params<{ producerUrl: string; gatewayUrl: string; rate: number; seconds: number; batch: number }>();
const send = httpClient(p.producerUrl, 8);
const bodies = Array.from({ length: 20 }, (_, k) => JSON.stringify(Array.from({ length: p.batch }, (_, j) => benchEvent(k * p.batch + j))));

let received = 0;
let dropped = 0;
const ws = new WebSocket(`${p.gatewayUrl.replace(/^http/, 'ws')}/live`, { perMessageDeflate: false });
await new Promise<void>((resolve, reject) => {
  ws.once('message', () => resolve());
  ws.once('error', reject);
});
ws.on('message', (data: Buffer) => {
  const f = JSON.parse(data.toString()) as { type: string; items?: unknown[]; count?: number };
  if (f.type === 'logs') received += f.items!.length;
  else if (f.type === 'dropped') dropped += f.count!;
});

const accept = new Histogram();
const requests = Math.round((p.rate * p.seconds) / p.batch);
let sent = 0;
let ok = 0;
let errors = 0;
let lastError = '';
const start = performance.now();
const timer = setInterval(() => progress(`${Math.round((performance.now() - start) / 1000)} s: accepted ${ok * p.batch}, live received ${received}`), 10_000);
await new Promise<void>((resolve) => {
  const tick = () => {
    const due = Math.min(requests, Math.floor(((performance.now() - start) * p.rate) / p.batch / 1000));
    while (sent < due) {
      const body = bodies[sent++ % bodies.length]!;
      const t = performance.now();
      send('POST', '/send', body).then(
        (res) => {
          accept.record(performance.now() - t);
          if (res.status === 202) ok++;
          else {
            errors++;
            lastError = `${res.status} ${res.body.slice(0, 200)}`;
          }
        },
        (err: Error) => {
          errors++;
          lastError = err.message;
        },
      );
    }
    if (sent < requests) setTimeout(tick, 5);
    else resolve();
  };
  tick();
});
clearInterval(timer);
while (ok + errors < sent) await sleep(10);
const deadline = Date.now() + 10_000;
while (received + dropped < ok * p.batch && Date.now() < deadline) await sleep(50);
ws.close();
finish({ accepted: ok * p.batch, errors, lastError, received, dropped, seconds: (performance.now() - start) / 1000, accept: accept.summary() });
