// Load generator for the loki scenario's tail part: `subscribers` Loki tails ({service="bench-tail"}) and as many
// /live subscribers (?service=bench-tail) on one gateway, and `rate` single-row batches per second stored by the
// processor's own statement (storeRows: INSERT … NOTIFY), all in this process, so that commit and receipt times
// come from one clock. Latency = store committed → frame received, for every row on every socket.
import WebSocket from 'ws';
import { createPool } from '@logstream/shared/db.js';
import { storeRows } from '../../processor/src/store-batch.js';
import { PG_HOST, PG_PORT, PG_USER } from '../../test/helpers/test-env.js';
import { Histogram } from '../lib/histogram.js';
import { finish, params, progress, sleep } from '../lib/load-child.js';

const p = params<{ gatewayUrl: string; database: string; channel: string; rate: number; seconds: number; subscribers: number }>();
export const TAIL_SERVICE = 'bench-tail';
const db = createPool({ DB_HOST: PG_HOST, DB_PORT: PG_PORT, POSTGRES_USER: PG_USER, POSTGRES_DB: p.database, POSTGRES_PASSWORD: undefined, DATABASE_URL: undefined }, { max: 2 });

const total = Math.round(p.rate * p.seconds);
const committedAt = new Float64Array(total).fill(NaN);
const hist = { tail: new Histogram(), live: new Histogram() };
const received = { tail: 0, live: 0 };
const pending: { kind: 'tail' | 'live'; seq: number; at: number }[] = [];

function record(kind: 'tail' | 'live', seq: number, at: number) {
  received[kind]++;
  // A frame may arrive before storeRows' reply does: timed once the commit time is known.
  if (Number.isNaN(committedAt[seq]!)) pending.push({ kind, seq, at });
  else hist[kind].record(at - committedAt[seq]!);
}

const ws = (path: string) => new WebSocket(`${p.gatewayUrl.replace(/^http/, 'ws')}${path}`, { perMessageDeflate: false });
const opened: Promise<void>[] = [];
const sockets: WebSocket[] = [];
const runId = `${process.pid}-${Date.now()}`;
for (let i = 0; i < p.subscribers; i++) {
  // start = now: only this run's rows (the tail replays nothing older).
  const tail = ws(`/loki/api/v1/tail?query=${encodeURIComponent(`{service="${TAIL_SERVICE}"} |= "${runId}"`)}&start=${BigInt(Date.now()) * 1_000_000n}`);
  tail.on('message', (data: Buffer) => {
    const at = performance.now();
    const frame = JSON.parse(data.toString()) as { streams: { values: [string, string][] }[] };
    for (const s of frame.streams) for (const [, line] of s.values) record('tail', Number(line.split(' ')[2]), at);
  });
  opened.push(new Promise((resolve, reject) => (tail.once('open', () => resolve()), tail.once('error', reject))));
  const live = ws(`/live?service=${TAIL_SERVICE}&q=${runId}`);
  live.on('message', (data: Buffer) => {
    const at = performance.now();
    const frame = JSON.parse(data.toString()) as { type: string; items?: { message: string }[] };
    if (frame.type === 'logs') for (const item of frame.items!) record('live', Number(item.message.split(' ')[2]), at);
  });
  // /live sends a hello frame once subscribed.
  opened.push(new Promise((resolve, reject) => (live.once('message', () => resolve()), live.once('error', reject))));
  sockets.push(tail, live);
}
await Promise.all(opened);
await sleep(200);

const start = performance.now();
for (let seq = 0; seq < total; seq++) {
  const due = start + (seq * 1000) / p.rate;
  if (due > performance.now()) await sleep(due - performance.now());
  const now = Date.now();
  const row = { sid: `bench-tail-${seq}`, eid: null, ts: now, rt: now, level: 30, service: TAIL_SERVICE, message: `tail ${runId} ${seq}`, attributes: {} };
  await storeRows(db, JSON.stringify([row]), p.channel);
  committedAt[seq] = performance.now();
  for (const x of pending.splice(0)) hist[x.kind].record(Math.max(0, x.at - committedAt[x.seq]!));
  if (seq % Math.max(1, Math.round(p.rate * 2)) === 0) progress(`stored ${seq + 1} / ${total}, tail received ${received.tail}, /live ${received.live}`);
}
const deadline = Date.now() + 5000;
while (Date.now() < deadline && (received.tail < total * p.subscribers || received.live < total * p.subscribers)) await sleep(50);
for (const s of sockets) s.close();
await db.end();
finish({ rows: total, subscribers: p.subscribers, expected: total * p.subscribers, received, tail: hist.tail.summary(), live: hist.live.summary() });
