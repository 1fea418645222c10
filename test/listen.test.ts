// Where a service listens (issue 12 points 2 and 3): a port that is already taken is an error (exit 1, one line
// naming the port) rather than a second listener sharing it through SO_REUSEPORT; HOST picks the interface
// (127.0.0.1 by default), and the start-up line says the address really bound.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, stopAll } from './helpers/services.js';
import { createTestEnv, type TestEnv } from './helpers/test-env.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
let t: TestEnv;

beforeAll(async () => {
  t = await createTestEnv('listen');
});
afterAll(async () => {
  await stopAll();
  await t?.cleanup();
});

/** Run a service to its exit; resolves with its exit code and everything it printed on stderr. */
function runToExit(name: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', `${name}/src/index.ts`], { cwd: ROOT, env: { ...process.env, ...t.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) => child.once('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, stderr });
  }));
}

const answers = async (url: string) => (await fetch(`${url}/health`).catch(() => undefined))?.status === 200;

describe('a taken port', () => {
  it('stops a second producer or processor on the same port with exit 1 and one line naming the port', async () => {
    const first = await startService('producer', t.env);
    for (const name of ['producer', 'processor']) {
      const second = await runToExit(name, { PORT: String(first.port) });
      expect(second.code, second.stderr).toBe(1);
      const lines = second.stderr.trim().split('\n');
      expect(lines, second.stderr).toHaveLength(1);
      expect(lines[0]).toContain(`${name}: cannot listen on 127.0.0.1:${first.port}: port ${first.port} is already in use`);
    }
    // The OTLP port set explicitly to a taken port: the hint names OTLP_HTTP_PORT, not the producer's PORT.
    const otlp = await runToExit('producer', { PORT: '0', OTLP_HTTP_PORT: String(first.port) });
    expect(otlp.code, otlp.stderr).toBe(1);
    expect(otlp.stderr).toContain(`OTLP_HTTP_PORT: cannot listen on 127.0.0.1:${first.port}: port ${first.port} is already in use (stop what listens there, or set OTLP_HTTP_PORT to another port)`);
    // The first one still has the port to itself.
    expect(await answers(first.url)).toBe(true);
    await first.stop();
    // Three service start-ups in a row on a loaded machine: bounded generously, the speed is not what is tested.
  }, 300_000);
});

describe('HOST', () => {
  it('defaults to the loopback address 127.0.0.1 and says so', async () => {
    const p = await startService('producer', t.env);
    const line = JSON.parse(p.output.find((l) => l.includes('listening'))!);
    expect(line).toMatchObject({ host: '127.0.0.1', port: p.port });
    expect(line.msg).toBe(`producer listening on http://127.0.0.1:${p.port} (this machine only; HOST=0.0.0.0 for every interface)`);
    expect(await answers(`http://127.0.0.1:${p.port}`)).toBe(true);
    // Linux routes all of 127/8 to the loopback device: 127.0.0.2 is another address, which this one does not bind.
    expect(await answers(`http://127.0.0.2:${p.port}`)).toBe(false);
    await p.stop();
  }, 180_000);

  it('HOST=0.0.0.0 listens on every interface, and the log names it', async () => {
    const p = await startService('producer', { ...t.env, HOST: '0.0.0.0' });
    const line = JSON.parse(p.output.find((l) => l.includes('listening'))!);
    expect(line).toMatchObject({ host: '0.0.0.0', port: p.port });
    expect(line.msg).toBe(`producer listening on http://localhost:${p.port} (every interface, 0.0.0.0)`);
    expect(await answers(`http://127.0.0.2:${p.port}`)).toBe(true);
    await p.stop();
  }, 180_000);

  it('a HOST that is not an address of this machine is one clear line and exit 1', async () => {
    const bad = await runToExit('producer', { PORT: '0', HOST: '192.0.2.1' });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('producer: cannot listen on 192.0.2.1:0: 192.0.2.1 is not an address of this machine (set HOST, e.g. 127.0.0.1 or 0.0.0.0)');
  }, 180_000);
});
