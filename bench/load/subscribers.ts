// Many /live subscribers in one process (the fanout scenario runs several of these). Every client checks that it
// got every row and no `dropped` frame; one in `sampleEvery` parses each frame and records send→receive latency
// from the send time carried in the message ("fan <seq> <wall ms>"). The others only look at the frame's bytes,
// so that the load generator keeps up with what the gateway sends.
import WebSocket from 'ws';
import { Histogram } from '../lib/histogram.js';
import { finish, fromParent, notify, params, sleep, wallMs } from '../lib/load-child.js';

const p = params<{ gatewayUrl: string; count: number; sampleEvery: number; offset: number }>();

interface Client {
  ws: WebSocket;
  sampled: boolean;
  items: number;
  dropped: number;
  frames: number;
  closed: boolean;
}

const latency = new Histogram();
const clients: Client[] = [];
let bytes = 0;
// Each item starts with {"id" (json_build_object writes '{"id" : 1', jsonb '{"id": 1').
const ID = Buffer.from('{"id"');
const L = 'l'.charCodeAt(0);
const D = 'd'.charCodeAt(0);

function countItems(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(ID); i >= 0; i = buf.indexOf(ID, i + ID.length)) n++;
  return n;
}

function connect(index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${p.gatewayUrl.replace(/^http/, 'ws')}/live`, { perMessageDeflate: false });
    const c: Client = { ws, sampled: (p.offset + index) % p.sampleEvery === 0, items: 0, dropped: 0, frames: 0, closed: false };
    clients.push(c);
    let hello = false;
    ws.on('message', (data: Buffer) => {
      if (!hello) {
        hello = true;
        resolve();
        return;
      }
      // Payload bytes only (the native client also counts frame headers): what the server sent, near enough.
      bytes += data.length;
      // '{"type":"logs"…' and '{"type":"dropped"…': byte 9 tells them apart without parsing.
      const kind = data[9];
      if (kind === L) {
        c.frames++;
        if (!c.sampled) {
          c.items += countItems(data);
          return;
        }
        const now = wallMs();
        const frame = JSON.parse(data.toString()) as { items: { message: string }[] };
        for (const item of frame.items) {
          c.items++;
          const t = Number(item.message.slice(item.message.lastIndexOf(' ') + 1));
          latency.record(now - t);
        }
      } else if (kind === D) {
        c.dropped += (JSON.parse(data.toString()) as { count: number }).count;
      }
    });
    ws.once('error', (err) => {
      if (!hello) reject(err);
    });
    ws.once('close', () => {
      c.closed = true;
    });
  });
}

const t0 = Date.now();
const PARALLEL = 200;
for (let i = 0; i < p.count; i += PARALLEL) {
  await Promise.all(Array.from({ length: Math.min(PARALLEL, p.count - i) }, (_, j) => connect(i + j)));
}
const cpuAtConnected = process.cpuUsage();
bytes = 0; // counted from here, as the native client does
notify({ type: 'connected', clients: clients.length, seconds: (Date.now() - t0) / 1000 });

const { expected, timeoutMs } = (await fromParent('report')) as unknown as { expected: number; timeoutMs: number };
const deadline = Date.now() + timeoutMs;
while (Date.now() < deadline && clients.some((c) => !c.closed && c.dropped === 0 && c.items < expected)) await sleep(50);
const complete = clients.filter((c) => !c.closed && c.dropped === 0 && c.items === expected).length;
const cpu = process.cpuUsage(cpuAtConnected);
const result = {
  bytes,
  receiveCpuSec: (cpu.user + cpu.system) / 1e6,
  clients: clients.length,
  sampled: clients.filter((c) => c.sampled).length,
  complete,
  short: clients.filter((c) => c.dropped === 0 && c.items < expected).length,
  extra: clients.filter((c) => c.items > expected).length,
  droppedClients: clients.filter((c) => c.dropped > 0).length,
  droppedRows: clients.reduce((n, c) => n + c.dropped, 0),
  closed: clients.filter((c) => c.closed).length,
  frames: clients.reduce((n, c) => n + c.frames, 0),
  items: clients.reduce((n, c) => n + c.items, 0),
  latency: latency.toJSON(),
};
for (const c of clients) c.ws.terminate();
finish(result);
