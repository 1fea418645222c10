// `npm start` (CONTRACT §1): check Redis and PostgreSQL, apply migrations, then run one producer, PROCESSORS
// processors and one gateway in the foreground. Ctrl-C / SIGTERM stops everything cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { z } from 'zod';
import { baseShape, listenHost, loadConfig, REPO_ROOT } from '@logstream/shared/config.js';
import { createLogger } from '@logstream/shared/logger.js';
import { prepareDatabase } from '@logstream/shared/prepare-database.js';
import { checkDependencies } from './check-dependencies.js';

const cfg = loadConfig(
  {
    ...baseShape,
    PROCESSORS: z.coerce.number().int().min(0).max(64).default(2),
    PRODUCER_PORT: z.coerce.number().int().min(1).max(65535).default(8001),
    GATEWAY_PORT: z.coerce.number().int().min(1).max(65535).default(8002),
    PROCESSOR_PORT: z.coerce.number().int().min(1).max(65535).default(8003),
  },
  'logstream',
);
const log = createLogger('start', cfg.LOG_LEVEL);

const problem = await checkDependencies(cfg);
if (problem) {
  console.error(problem);
  process.exit(1);
}
await prepareDatabase(cfg, log);

// A slow start (a busy machine, a PostgreSQL still recovering) is said once rather than left silent.
const READY_NOTICE_MS = 20_000;
const children: { name: string; child: ChildProcess }[] = [];
let stopping = false;

function run(name: string, entry: string, port: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push({ name, child });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`logstream: ${name} exited (${signal ?? code}); stopping the stack`);
    void stop(1);
  });
}

run('producer', 'producer/src/index.ts', cfg.PRODUCER_PORT);
for (let i = 0; i < cfg.PROCESSORS; i++) run(`processor ${i + 1}`, 'processor/src/index.ts', cfg.PROCESSOR_PORT + i);
run('gateway', 'gateway/src/index.ts', cfg.GATEWAY_PORT);

// Where to reach the services from this machine: HOST when it is one address, localhost for loopback or wildcard.
const host = listenHost();
const shown = /^(127\.|0\.0\.0\.0$|::1?$|localhost$)/.test(host) ? 'localhost' : host.includes(':') ? `[${host}]` : host;
const url = (port: number) => `http://${shown}:${port}`;
const probeHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
const services = [
  { name: 'producer', port: cfg.PRODUCER_PORT },
  ...Array.from({ length: cfg.PROCESSORS }, (_, i) => ({ name: `processor ${i + 1}`, port: cfg.PROCESSOR_PORT + i })),
  { name: 'gateway', port: cfg.GATEWAY_PORT },
];
const processorPorts = cfg.PROCESSORS === 0 ? 'none' : cfg.PROCESSORS === 1 ? `${cfg.PROCESSOR_PORT}` : `${cfg.PROCESSOR_PORT}–${cfg.PROCESSOR_PORT + cfg.PROCESSORS - 1}`;
console.log(`logstream: starting the producer, ${cfg.PROCESSORS} processor(s) and the gateway; waiting until each answers /ready…`);

/** Resolves once every service answers GET /ready with 200; says once, after READY_NOTICE_MS, which ones it waits for. */
async function waitUntilReady(): Promise<void> {
  const since = Date.now();
  let told = false;
  const waiting = new Set(services);
  while (waiting.size > 0 && !stopping) {
    for (const s of [...waiting]) {
      const status = await fetch(`http://${probeHost}:${s.port}/ready`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.status, () => 0);
      if (status === 200) waiting.delete(s);
    }
    if (waiting.size === 0) return;
    if (!told && Date.now() - since > READY_NOTICE_MS) {
      told = true;
      console.log(`logstream: still waiting for ${[...waiting].map((s) => `${s.name} (:${s.port})`).join(', ')} to answer /ready (is Redis or PostgreSQL slow?)`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const startedAt = Date.now();
await waitUntilReady();
if (!stopping) {
  console.log(
    `logstream ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s: producer ${url(cfg.PRODUCER_PORT)} · gateway ${url(cfg.GATEWAY_PORT)} · ` +
      `live tail ${url(cfg.GATEWAY_PORT)}/ui · ${cfg.PROCESSORS} processor(s), health on ${processorPorts} · Ctrl-C stops everything`,
  );
  console.log(`  try: curl "${url(cfg.PRODUCER_PORT)}/send?message=hello"   curl "${url(cfg.GATEWAY_PORT)}/logs?limit=20"   wscat -c ws://${shown}:${cfg.GATEWAY_PORT}/live`);
}

async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    children.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );
  process.exit(code);
}
