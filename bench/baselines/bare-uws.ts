// The bare uWS baseline (issue 17): a pub/sub server with nothing behind it. GET /send?message=… (or POST /send
// with a JSON array) turns each event into a row shaped like the gateway's (the same fields, as PostgreSQL's
// json_build_object writes them), and publishes `logs` frames (the gateway's frame builder) to every /live
// subscriber on one uWS topic. Frames are spaced at least `spacing` ms apart (a lone event goes at once, a burst
// waits for the next slot, as in the gateway's live hub): the fan-out scenario sets the spacing the gateway's run
// showed ({type:'spacing', ms}), so that both send the same frames at the same rate; 'gateway' is the hub's own
// rule for the audience, and 'none' makes every event its own frame (the latency scenario's bare hop).
// With ingress 'process' (the fan-out scenario), /send is served by a process of its own (bare-ingress.ts) that
// hands the events over the IPC channel, as the producer is apart from the gateway; 'inline' (the latency
// scenario's one-subscriber hop) serves it here.
// Run as a load process: reports {type:'listening', port, sendPort} (sendPort: where /send is served), and what
// it published on {type:'stop'}.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadUws } from '@logstream/shared/uws.js';
import { logsFrame } from '@logstream/shared/protocol.js';
import { coalesceMs } from '../../gateway/src/live/feed.js';
import { finish, fromParent, notify, params } from '../lib/load-child.js';
import type { LoadMessage } from '../lib/load.js';
import { serveBareSend, type BareEvent } from './bare-send.js';

const p = params<{ spacing: 'gateway' | 'none' | number; ingress?: 'inline' | 'process' }>();
let spacing = p.spacing;
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
/** Set on {type:'stop'}: the ingress process exiting after that is no failure. */
let stopped = false;
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

const addEvents = (events: BareEvent[]) => add(events.map(([message, service]) => row(message, service)));

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
/** The ingress process (bare-ingress.ts) and the port it serves /send on. */
async function startIngress(): Promise<number> {
  const child = fork(fileURLToPath(new URL('./bare-ingress.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.once('exit', (code, signal) => {
    if (!stopped) {
      console.error(`bare uWS ingress exited (${signal ?? code})`);
      process.exit(1);
    }
  });
  process.on('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve) => {
    child.on('message', (m: { type: string; port?: number; events?: BareEvent[] }) => {
      if (m.type === 'events') addEvents(m.events!);
      else if (m.type === 'listening') resolve(m.port!);
    });
  });
}

// /send served here, in the publishing process (ingress 'inline'), or by the ingress process.
if (p.ingress !== 'process') serveBareSend(app, addEvents);
const port = await new Promise<number>((resolve, reject) =>
  app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(uws.us_socket_local_port(socket)) : reject(new Error('bare uWS server: cannot listen')))),
);
const sendPort = p.ingress === 'process' ? await startIngress() : port;
notify({ type: 'listening', port, sendPort });
await fromParent('stop');
stopped = true;
finish({ frames, rows, bytesPublished: bytes, subscribers });
