// `npm run producer|processor|gateway` stop their service when they are stopped (issue 12 point 1): `kill <npm
// pid>` used to leave the node process running, orphaned and still consuming, because npm's `sh -c` died without
// passing the signal on. And the README's fault-tolerance demo (scripts/fault-demo.sh) works as one command.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
let t: TestEnv;

beforeAll(async () => {
  t = await createTestEnv('npmrun');
});
afterAll(async () => {
  await t?.cleanup();
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** `npm run -s <name>`; resolves once the service logged its start-up line, with npm's pid and the service's. */
async function npmRun(name: string): Promise<{ npm: number; service: number; exited: Promise<unknown> }> {
  const child = spawn('npm', ['run', '-s', name], { cwd: ROOT, env: { ...process.env, ...t.env, PORT: String(await freePort()) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  let service = 0;
  await waitFor(`${name} started`, () => {
    const line = out.split('\n').find((l) => /"msg":"\w+ (listening|started)/.test(l));
    if (line) service = JSON.parse(line).pid;
    return service > 0;
  }, 150_000);
  return { npm: child.pid!, service, exited };
}

describe('npm run <service>', () => {
  it.each(['producer', 'processor', 'gateway'])('kill <npm pid> stops the %s itself', async (name) => {
    const run = await npmRun(name);
    expect(run.service).not.toBe(run.npm);
    process.kill(run.npm, 'SIGTERM');
    await run.exited;
    await waitFor(`${name} (pid ${run.service}) gone`, () => !alive(run.service), 60_000);
    // A service start-up on a loaded machine: bounded generously, the speed is not what is tested.
  }, 240_000);

  it('a SIGKILLed npm, which can pass nothing on, still takes its service with it', async () => {
    const run = await npmRun('processor');
    process.kill(run.npm, 'SIGKILL');
    await run.exited;
    // The service notices that its parent is gone within a second, then drains as on SIGTERM.
    await waitFor(`processor (pid ${run.service}) gone`, () => !alive(run.service), 60_000);
  }, 240_000);
});

function runScript(env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('scripts/fault-demo.sh', [], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, stdout, stderr })));
}

describe('a service still starting', () => {
  it('stops when its parent is gone, before it is up (PostgreSQL unreachable, retrying)', async () => {
    const free = await freePort();
    // sh starts the gateway in the background, prints its pid and exits 6 s later: the gateway is orphaned mid start-up.
    const sh = spawn('sh', ['-c', 'node --import tsx gateway/src/index.ts >/dev/null 2>&1 & echo $!; sleep 6'], {
      cwd: ROOT, env: { ...process.env, ...t.env, PORT: '0', DB_PORT: String(free), DATABASE_URL: '' }, stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    sh.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((r) => sh.once('exit', r));
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(0);
    await waitFor(`gateway (pid ${pid}) gone`, () => !alive(pid), 60_000);
  }, 120_000);
});

describe('scripts/fault-demo.sh (the README demo)', () => {
  it('stores the events sent while no processor runs, each once, when a processor returns', async () => {
    const ports = { PRODUCER_PORT: String(await freePort()), GATEWAY_PORT: String(await freePort()), PROCESSOR_PORT: String(await freePort()) };
    // Asynchronously, so that the test's own timeout can fire; DEMO_TIMEOUT bounds each of the script's waits.
    const run = await runScript({ ...t.env, ...ports, N: '25', DEMO_TIMEOUT: '240' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('25 events sent, each answered 202');
    expect(run.stdout).toContain('stored while the processor is down: 0 (they wait in the stream)');
    expect(run.stdout).toContain('stored after the processor came back: 25 rows, 25 distinct events of 25');
    // It stopped what it started.
    for (const port of Object.values(ports)) expect((await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status).toBeUndefined();
  }, 600_000);

  it('says to stop npm start first when a port is taken', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const run = await runScript({ ...t.env, PRODUCER_PORT: String(port) });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(`port ${port} is taken (is \`npm start\` still running? stop it first`);
    } finally {
      taken.close();
    }
  });
});
