// npm run -s ship -- [--url http://localhost:8001] [--service api] [--level warn] [--token T]
// Tail a process's output into logstream as it is written: `node app.js | npm run -s ship -- --service api`.
// Each line of standard input becomes an event: a JSON object (a pino line) as it is, anything else as
// {"message": line}. Lines are sent in batches (every 200 ms, or 1,000 lines) with POST /send. Nothing read is
// dropped silently: a busy producer (503, 429) or one that is down is retried until it takes the batch, and
// reading waits meanwhile; each batch carries an Idempotency-Key, so a retried batch is never stored twice. Lines the producer rejects as invalid are reported on stderr with their line number,
// and the exit status is then 1.
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Backoff } from '@logstream/shared/backoff.js';
import { DEFAULT_HOST, loadEnvFile } from '@logstream/shared/config.js';
import { fromLine } from '@logstream/shared/input-adapters.js';
import { LEVELS, levelValue } from '@logstream/shared/levels.js';

const USAGE = `usage: <command> | npm run -s ship -- [--url URL] [--service NAME] [--level LEVEL] [--token TOKEN]
  --url      the producer (default $PRODUCER_URL, else http://127.0.0.1:$PRODUCER_PORT, port 8001 by default;
             both also read from .env)
  --service  service of events that do not name one (default: the producer's, "default")
  --level    level of events that do not give one, e.g. error for a process's stderr (default: info)
  --token    ingest token when the producer has INGEST_TOKENS (default $INGEST_TOKEN)`;

const BATCH_LINES = 1000;
const BATCH_MS = 200;
const MAX_RETRY_WAIT_MS = 5000;
const STOP_GRACE_MS = 5000;

interface Args {
  url: string;
  service?: string;
  level?: string;
  token?: string;
}

/** The producer `npm start` runs on this machine: PRODUCER_URL, else PRODUCER_PORT on HOST (when it is one address). */
function defaultUrl(env: NodeJS.ProcessEnv): string {
  if (env.PRODUCER_URL) return env.PRODUCER_URL.replace(/\/+$/, '');
  const port = env.PRODUCER_PORT || '8001';
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    console.error(`ship: PRODUCER_PORT=${JSON.stringify(port)}: expected an integer from 1 to 65535`);
    process.exit(2);
  }
  const host = !env.HOST || env.HOST === '0.0.0.0' || env.HOST === '::' ? DEFAULT_HOST : env.HOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function parseArgs(argv: string[]): Args {
  loadEnvFile();
  const out: Args = { url: defaultUrl(process.env), token: process.env.INGEST_TOKEN || undefined };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!;
    const value = argv[i + 1];
    if (name === '--help' || name === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (!['--url', '--service', '--level', '--token'].includes(name) || value === undefined) {
      console.error(`ship: ${value === undefined && name.startsWith('--') ? `${name} needs a value` : `unknown argument ${name}`}\n${USAGE}`);
      process.exit(2);
    }
    out[name.slice(2) as 'url' | 'service' | 'level' | 'token'] = value;
    i++;
  }
  if (out.level !== undefined && levelValue(out.level) === undefined) {
    console.error(`ship: --level must be one of ${LEVELS.join(', ')} (or 10-60), got ${JSON.stringify(out.level)}`);
    process.exit(2);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const headers: Record<string, string> = { 'content-type': 'application/json' };
if (args.token) headers.authorization = `Bearer ${args.token}`;

/** A line as one event (JSON text), or undefined for a blank line (shared/src/input-adapters.ts). */
function lineToEvent(line: string, defaults: { service?: string; level?: string }): string | undefined {
  const event = fromLine(line, defaults);
  return event === undefined ? undefined : JSON.stringify(event);
}

interface Pending {
  line: number;
  event: string;
}

let read = 0;
let shipped = 0;
let rejected = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** POST one batch until the producer takes it; invalid events are reported and left out. */
async function send(batch: Pending[]): Promise<void> {
  const backoff = new Backoff({ initialMs: 100, maxMs: MAX_RETRY_WAIT_MS });
  let warned = false;
  // Every attempt at this batch carries the same key: a batch the producer took but whose answer was lost is
  // stored once, however often it is resent.
  const key = randomUUID();
  while (batch.length > 0) {
    let res: Response;
    try {
      res = await fetch(`${args.url}/send`, { method: 'POST', headers: { ...headers, 'idempotency-key': key }, body: `[${batch.map((p) => p.event).join(',')}]` });
    } catch (err) {
      if (!warned) console.error(`ship: producer at ${args.url} unreachable (${(err as Error).cause ?? (err as Error).message}); retrying`);
      warned = true;
      await backoff.wait();
      continue;
    }
    const body = (await res.json().catch(() => ({}))) as { message?: string; details?: { index: number; path: string; message: string }[] };
    if (res.status === 202) {
      shipped += batch.length;
      if (warned) console.error(`ship: producer at ${args.url} took the batch; going on`);
      return;
    }
    if (res.status === 503 || res.status === 429) {
      const retryAfter = Number(res.headers.get('retry-after'));
      if (!warned) console.error(`ship: producer busy (${res.status}: ${body.message ?? ''}); waiting`);
      warned = true;
      await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 30_000) : backoff.next());
      continue;
    }
    if (res.status === 400 && body.details && body.details.length > 0) {
      const bad = new Set(body.details.map((d) => d.index));
      for (const d of body.details) console.error(`ship: line ${batch[d.index]?.line} rejected: ${d.path ? `${d.path}: ` : ''}${d.message}`);
      rejected += bad.size;
      batch = batch.filter((_, i) => !bad.has(i));
      continue;
    }
    // 401, 413 and the like: retrying cannot help.
    throw new Error(`the producer answered ${res.status}: ${body.message ?? res.statusText}`);
  }
}

let queue: Pending[] = [];
let sending: Promise<void> = Promise.resolve();
let timer: NodeJS.Timeout | undefined;

/** Queue what was read for sending, after the batches before it. */
function flush(): Promise<void> {
  clearTimeout(timer);
  timer = undefined;
  const batch = queue;
  queue = [];
  if (batch.length > 0) sending = sending.then(() => send(batch));
  return sending;
}

function finish(code: number): never {
  const unsent = read - shipped - rejected;
  const n = (x: number) => x.toLocaleString('en');
  console.error(`ship: ${n(shipped)} lines shipped${rejected ? `, ${n(rejected)} rejected` : ''}${unsent ? `, ${n(unsent)} not sent` : ''}`);
  process.exit(code);
}

async function main(): Promise<void> {
  const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
  // Ctrl-C on `app | ship` reaches both: stop reading and send what was read, for up to STOP_GRACE_MS (the
  // producer may be down); a second signal stops at once. Either way the summary says what was not sent.
  const stop = () => {
    process.on('SIGINT', () => finish(1)).on('SIGTERM', () => finish(1));
    input.close();
    setTimeout(() => finish(1), STOP_GRACE_MS);
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  const defaults = { ...(args.service === undefined ? {} : { service: args.service }), ...(args.level === undefined ? {} : { level: args.level }) };
  let lineNo = 0;
  for await (const line of input) {
    lineNo++;
    const event = lineToEvent(line, defaults);
    if (event === undefined) continue;
    read++;
    queue.push({ line: lineNo, event });
    // A full batch waits for the one before it to be taken: reading pauses while the producer is busy or down.
    if (queue.length >= BATCH_LINES) await flush();
    else timer ??= setTimeout(() => void flush().catch(fatal), BATCH_MS);
  }
  await flush();
}

function fatal(err: Error): never {
  console.error(`ship: ${err.message}`);
  finish(1);
}

main().then(() => finish(rejected > 0 ? 1 : 0), fatal);
