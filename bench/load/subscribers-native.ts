// Many /live subscribers in one native process (bench/load/native/ws-subscribers.c), behind the same IPC protocol as
// load/subscribers.ts: 'connected', then 'report' from the parent, then the result. This wrapper only relays lines;
// the C program's CPU time is what the result reports.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { finish, fromParent, notify, params } from '../lib/load-child.js';

const p = params<{ gatewayUrl: string; count: number; binary: string }>();
const url = new URL(p.gatewayUrl);
const child = spawn(p.binary, [url.hostname === 'localhost' ? '127.0.0.1' : url.hostname, url.port, '/live', String(p.count)], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
child.once('exit', (code, signal) => {
  if (code !== 0) {
    console.error(`ws-subscribers exited (${signal ?? code})`);
    process.exit(1);
  }
});
const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
const next = async () => {
  const r = await lines.next();
  if (r.done) throw new Error('ws-subscribers closed its output');
  return r.value;
};

const [, clients, seconds] = (await next()).split(' ');
notify({ type: 'connected', clients: Number(clients), seconds: Number(seconds) });
const { expected, timeoutMs } = (await fromParent('report')) as unknown as { expected: number; timeoutMs: number };
child.stdin!.write(`report ${expected} ${timeoutMs}\n`);
const result = JSON.parse(await next()) as object;
finish(result);
