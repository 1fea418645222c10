// The bare uWS baseline (issue 17): a pub/sub server with nothing behind it. GET /send?message=… (or POST /send
// with a JSON array) turns each event into a row shaped like the gateway's (the same fields, as PostgreSQL's
// json_build_object writes them), and publishes `logs` frames (the gateway's frame builder) to every /live
// subscriber on one uWS topic. Frames are spaced at least `spacing` ms apart (a lone event goes at once, a burst
// waits for the next slot, as in the gateway's live hub): the fan-out scenario sets the spacing the gateway's run
// showed ({type:'spacing', ms}), so that both send the same frames at the same rate; 'gateway' is the hub's own
// rule for the audience, and 'none' makes every event its own frame (the latency scenario's bare hop).
// Run as a load process: reports {type:'listening', port}, and what it published on {type:'stop'}.
import { loadUws } from '@logstream/shared/uws.js';
import { logsFrame } from '@logstream/shared/protocol.js';
import { coalesceMs } from '../../gateway/src/live/feed.js';
import { finish, fromParent, notify, params } from '../lib/load-child.js';
import type { LoadMessage } from '../lib/load.js';

let spacing = params<{ spacing: 'gateway' | 'none' | number }>().spacing;
process.on('message', (m: LoadMessage) => {
  if (m.type === 'spacing') spacing = Number(m.ms);
});
const uws = loadUws();
const app = uws.App();
const TOPIC = 'live';
let subscribers = 0;
let nextId = 1;
let pending: string[] = [];
let lastFlush = 0;
let timer: NodeJS.Timeout | undefined;
let frames = 0;
let rows = 0;
let bytes = 0;

const iso = (ms: number) => new Date(ms).toISOString();
function row(message: string, service: string): string {
  const now = iso(Date.now());
  // The gateway's item JSON (gateway/src/row-json.ts) as json_build_object prints it: `"key" : value`.
  return `{"id" : ${nextId++}, "timestamp" : "${now}", "received_at" : "${now}", "level" : "info", "service" : ${JSON.stringify(service)}, "message" : ${JSON.stringify(message)}, "attributes" : {}}`;
}

function flush(): void {
  timer = undefined;
  if (pending.length === 0) return;
  lastFlush = performance.now();
  const frame = logsFrame(pending, nextId - 1);
  frames++;
  rows += pending.length;
  bytes += frame.length * subscribers;
  pending = [];
  app.publish(TOPIC, frame, false);
}

function add(items: string[]): void {
  pending.push(...items);
  if (spacing === 'none') return flush();
  if (timer) return;
  const wait = lastFlush + (spacing === 'gateway' ? coalesceMs(subscribers) : spacing) - performance.now();
  if (wait <= 0) flush();
  else timer = setTimeout(flush, wait);
}

app.ws('/live', {
  idleTimeout: 60,
  sendPingsAutomatically: true,
  maxBackpressure: 64 * 1024 * 1024,
  open: (ws) => {
    subscribers++;
    ws.subscribe(TOPIC);
    ws.send(JSON.stringify({ type: 'hello', head: nextId - 1, version: 1 }), false);
  },
  close: () => {
    subscribers--;
  },
});
app.get('/send', (res, req) => {
  const q = new URLSearchParams(req.getQuery() ?? '');
  add([row(q.get('message') ?? '', q.get('service') ?? 'bare')]);
  res.cork(() => res.writeStatus('202 Accepted').writeHeader('Content-Type', 'application/json').end('{"accepted":1}'));
});
app.post('/send', (res) => {
  const chunks: Buffer[] = [];
  res.onAborted(() => {});
  res.onData((chunk, last) => {
    chunks.push(Buffer.from(chunk.slice(0)));
    if (!last) return;
    const events = JSON.parse(Buffer.concat(chunks).toString()) as { message: string; service?: string }[];
    add(events.map((e) => row(e.message, e.service ?? 'bare')));
    res.cork(() => res.writeStatus('202 Accepted').writeHeader('Content-Type', 'application/json').end(`{"accepted":${events.length}}`));
  });
});

const port = await new Promise<number>((resolve, reject) =>
  app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(uws.us_socket_local_port(socket)) : reject(new Error('bare uWS server: cannot listen')))),
);
notify({ type: 'listening', port });
await fromParent('stop');
finish({ frames, rows, bytesPublished: bytes, subscribers });
