// The bare chain (issue 17, latency): the hops a live event cannot avoid, chained in three processes as the
// pipeline's are, with nothing of logstream's in them, for bench/load/latency.ts to drive with the same client at
// the same rate as it drives logstream. What logstream adds (validation, batching, the gateway's fetch query and
// frame coalescing) is the difference; what the machine adds (a loaded CPU queue waking four processes, the
// client's own event loop) weighs on both.
// - front: uWS GET /send → the row's item JSON (received_at stamped here) → one XADD → 202;
// - middle: XREADGROUP … BLOCK → one INSERT … pg_notify of what it read → XACK, as a processor;
// - back: LISTEN → one `logs` frame (the gateway's frame builder) published to every /live subscriber.
// Run as a load process with {role, …}: reports {type:'listening', port} (front, back) or {type:'ready'} (middle),
// and stops on {type:'stop'}.
import pg from 'pg';
import { Redis } from 'ioredis';
import { logsFrame } from '@logstream/shared/protocol.js';
import { loadUws } from '@logstream/shared/uws.js';
import { Histogram } from '../lib/histogram.js';
import { finish, fromParent, notify, params, wallMs } from '../lib/load-child.js';

interface Conn {
  redis: { host: string; port: number; stream: string };
  pg: { host: string; port: number; user: string; database: string; channel: string };
}
const p = params<Conn & { role: 'front' | 'middle' | 'back' }>();
const GROUP = 'bare-chain';
let handled = 0;
/** Milliseconds since the front stamped the row (received_at), at each step of this process: where the chain's time goes. */
const stages: Record<string, Histogram> = {};
const RECEIVED = /"received_at" : "([^"]+)"/;
function stage(name: string, item: string, at = wallMs()): void {
  const m = RECEIVED.exec(item);
  if (m) (stages[name] ??= new Histogram()).record(Math.max(0, at - Date.parse(m[1]!)));
}

async function front(): Promise<() => Promise<void>> {
  const redis = new Redis({ host: p.redis.host, port: p.redis.port });
  const uws = loadUws();
  const app = uws.App();
  let id = 0;
  app.get('/send', (res, req) => {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    const q = new URLSearchParams(req.getQuery() ?? '');
    const now = new Date().toISOString();
    const item = `{"id" : ${++id}, "timestamp" : "${now}", "received_at" : "${now}", "level" : "info", "service" : ${JSON.stringify(q.get('service') ?? 'bare')}, "message" : ${JSON.stringify(q.get('message') ?? '')}, "attributes" : {}}`;
    redis.xadd(p.redis.stream, '*', 'e', item).then(
      () => aborted || res.cork(() => res.writeStatus('202 Accepted').writeHeader('Content-Type', 'application/json').end('{"accepted":1}')),
      () => aborted || res.cork(() => res.writeStatus('503 Service Unavailable').end()),
    );
    handled++;
  });
  const port = await listen(uws, app);
  notify({ type: 'listening', port });
  return async () => {
    await redis.del(p.redis.stream);
    redis.disconnect();
  };
}

async function middle(): Promise<() => Promise<void>> {
  const reader = new Redis({ host: p.redis.host, port: p.redis.port });
  const acker = new Redis({ host: p.redis.host, port: p.redis.port });
  // The reader makes the group (from the stream's start: nothing the front adds first is missed); the three
  // roles start together.
  await reader.xgroup('CREATE', p.redis.stream, GROUP, '0', 'MKSTREAM').catch((err: Error) => {
    if (!/BUSYGROUP/.test(err.message)) throw err;
  });
  const db = new pg.Client(p.pg);
  await db.connect();
  const table = `bench_chain_${process.pid}`;
  await db.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, item text NOT NULL)`);
  // One statement per batch that stores the rows and notifies them (a NOTIFY payload holds 8,000 bytes: ~40 items).
  const sql = `WITH i AS (INSERT INTO ${table} (item) SELECT unnest($1::text[]) RETURNING item) SELECT pg_notify('${p.pg.channel}', string_agg(item, ',')) FROM i`;
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const reply = (await reader.xreadgroup('GROUP', GROUP, 'c', 'COUNT', 40, 'BLOCK', 1000, 'STREAMS', p.redis.stream, '>')) as [string, [string, string[]][]][] | null;
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) continue;
      const items = entries.map(([, f]) => f[1]!);
      stage('read', items[0]!);
      await db.query(sql, [items]);
      stage('stored', items[0]!);
      await acker.xack(p.redis.stream, GROUP, ...entries.map(([eid]) => eid));
      handled += entries.length;
    }
  })().catch((err: Error) => {
    // The front deletes the stream when told to stop, which ends a blocked read with UNBLOCKED.
    if (!stopping && !/UNBLOCKED/.test(err.message)) throw err;
  });
  notify({ type: 'ready' });
  return async () => {
    stopping = true;
    await loop;
    await db.query(`DROP TABLE ${table}`);
    await db.end();
    reader.disconnect();
    acker.disconnect();
  };
}

async function back(): Promise<() => Promise<void>> {
  const uws = loadUws();
  const app = uws.App();
  let last = 0;
  app.ws('/live', {
    idleTimeout: 60,
    open: (ws) => {
      ws.subscribe('live');
      ws.send(JSON.stringify({ type: 'hello', head: last, version: 1 }), false);
    },
  });
  const listener = new pg.Client(p.pg);
  await listener.connect();
  listener.on('notification', (n) => {
    if (!n.payload) return;
    // The items as text, joined into a frame as the gateway joins the rows' JSON (json_build_object's).
    const items = splitItems(n.payload);
    stage('notified', items[0]!);
    last += items.length;
    handled += items.length;
    app.publish('live', logsFrame(items, last), false);
  });
  await listener.query(`LISTEN ${p.pg.channel}`);
  const port = await listen(uws, app);
  notify({ type: 'listening', port });
  return async () => {
    await listener.end();
  };
}

/** The items of a payload joined by commas: each starts with `{"id" : ` (front's item), which no message can hold unescaped. */
function splitItems(payload: string): string[] {
  return payload.split(/,(?=\{"id" : )/);
}

function listen(uws: ReturnType<typeof loadUws>, app: ReturnType<ReturnType<typeof loadUws>['App']>): Promise<number> {
  return new Promise((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(uws.us_socket_local_port(socket)) : reject(new Error(`bare chain ${p.role}: cannot listen`)))),
  );
}

const stop = await { front, middle, back }[p.role]();
await fromParent('stop');
await stop();
finish({ role: p.role, handled, stages: Object.fromEntries(Object.entries(stages).map(([k, h]) => [k, h.summary()])) });
