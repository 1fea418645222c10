// Time to ready and resident memory of each service, compiled (node dist/<service>.js, npm run build) against
// TypeScript through tsx (issue 13 point 6). Usage, against the local Redis and PostgreSQL:
//   npm run build && node --import tsx bench/diagnostics/startup.ts [runs, default 5]
// Each run spawns the service, polls GET /ready every 10 ms and reads VmRSS from /proc 2 s after the first 200.
// "tsx, no cache" is how a fresh container starts (tsx's transpile cache in /tmp starts empty there); "tsx" is a
// second start on a developer's machine. Medians of the runs, the modes taking turns; a warm-up run migrates the
// database first.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '@logstream/shared/config.js';
import { freePort } from '../../test/helpers/free-port.js';

const RUNS = Number(process.argv[2] ?? 5);
const SERVICES = ['producer', 'processor', 'gateway'] as const;
const SETTLE_MS = 2_000;
const READY_TIMEOUT_MS = 60_000;

interface Mode {
  name: string;
  args: (service: string) => string[];
  env: Record<string, string>;
}
const MODES: Mode[] = [
  { name: 'tsx, no cache', args: (s) => ['--import', 'tsx', `${s}/src/index.ts`], env: { TSX_DISABLE_CACHE: '1' } },
  { name: 'tsx', args: (s) => ['--import', 'tsx', `${s}/src/index.ts`], env: {} },
  { name: 'compiled', args: (s) => [`dist/${s}.js`], env: {} },
];

const env = {
  POSTGRES_DB: 'ls_startup_diag',
  REDIS_STREAM: `startup-${randomUUID()}`,
  NOTIFY_CHANNEL: 'startup_diag',
  OTLP_HTTP_PORT: '0',
  SYSLOG_PORT: '0',
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
};

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

async function once(service: string, mode: Mode): Promise<{ readyMs: number; rssMb: number }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, mode.args(service), {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, ...mode.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${service} (${mode.name}) exited with ${child.exitCode}`);
      if (performance.now() - started > READY_TIMEOUT_MS) throw new Error(`${service} (${mode.name}) not ready in ${READY_TIMEOUT_MS} ms`);
      const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      await sleep(10);
    }
    const readyMs = performance.now() - started;
    await sleep(SETTLE_MS);
    return { readyMs, rssMb: rssMb(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const compiled = existsSync(`${REPO_ROOT}dist/gateway.js`);
if (!compiled) console.error('no dist/ (npm run build): measuring tsx only');
await once('processor', MODES[1]!); // migrates the database
console.log(`| service | mode | time to ready, ms | RSS, MB |\n| --- | --- | --- | --- |`);
for (const service of SERVICES) {
  const modes = MODES.filter((m) => compiled || m.name !== 'compiled');
  const runs = new Map(modes.map((m) => [m, [] as { readyMs: number; rssMb: number }[]]));
  // Modes take turns, so that a change of the machine's load falls on all of them alike.
  for (let i = 0; i < RUNS; i++) for (const mode of modes) runs.get(mode)!.push(await once(service, mode));
  for (const [mode, r] of runs) {
    console.log(`| ${service} | ${mode.name} | ${median(r.map((x) => x.readyMs)).toFixed(0)} | ${median(r.map((x) => x.rssMb)).toFixed(0)} |`);
  }
}
