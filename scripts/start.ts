// `npm start` (CONTRACT §1): check Redis and PostgreSQL, apply migrations, then run one producer, PROCESSORS
// processors and one gateway in the foreground. Ctrl-C / SIGTERM stops everything cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { z } from 'zod';
import { baseShape, loadConfig, REPO_ROOT } from '../shared/src/config.js';
import { createLogger } from '../shared/src/logger.js';
import { prepareDatabase } from '../shared/src/prepare-database.js';
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

console.log(`
logstream is starting:
  producer   http://localhost:${cfg.PRODUCER_PORT}   curl "http://localhost:${cfg.PRODUCER_PORT}/send?message=hello"
  gateway    http://localhost:${cfg.GATEWAY_PORT}   curl "http://localhost:${cfg.GATEWAY_PORT}/logs?limit=20"
  live tail  http://localhost:${cfg.GATEWAY_PORT}/ui   wscat -c ws://localhost:${cfg.GATEWAY_PORT}/live
  processors ${cfg.PROCESSORS} (health on ports ${cfg.PROCESSOR_PORT}–${cfg.PROCESSOR_PORT + Math.max(0, cfg.PROCESSORS - 1)})
Press Ctrl-C to stop.
`);

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
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
