// Start the real services as processes (node --import tsx <service>/src/index.ts) on random ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type ServiceName = 'producer' | 'processor' | 'gateway';

export interface Service {
  name: ServiceName;
  port: number;
  url: string;
  proc: ChildProcess;
  /** Every line the process printed (pino JSON lines and anything else). */
  output: string[];
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

const running = new Set<Service>();

/** `nodeArgs`: how node runs it; by default its TypeScript through tsx (test/compiled.test.ts passes a bundle). */
export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  timeoutMs = 120_000,
  nodeArgs = ['--import', 'tsx', `${name}/src/index.ts`],
): Promise<Service> {
  const proc = spawn(process.execPath, nodeArgs, {
    cwd: ROOT,
    // The port is read from the service's info-level "listening"/"started" line, so the level is at least info.
    env: { ...process.env, PORT: '0', OTLP_HTTP_PORT: '0', SYSLOG_PORT: '0', ...env, LOG_LEVEL: env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace' ? env.LOG_LEVEL : 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    // A service that did not start is killed, not left running after the test gave up on it.
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${output.join('\n')}`));
    }, timeoutMs);
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        output.push(line);
        if (output.length > 5000) output.shift();
        try {
          const rec = JSON.parse(line) as { port?: number; msg?: string };
          if (typeof rec.port === 'number' && /listening|started/.test(rec.msg ?? '')) {
            clearTimeout(timer);
            resolve(rec.port);
          }
        } catch {
          // not JSON
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${output.join('\n')}`));
    });
  });
  const service: Service = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    proc,
    output,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const code = await exited;
      running.delete(service);
      return code;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
      running.delete(service);
    },
  };
  running.add(service);
  return service;
}

/**
 * Wait until GET /ready answers 200. A service listens before its dependencies are connected (it answers 503 until
 * then), so a test whose first request must succeed waits for this first.
 */
export async function waitUntilReady(service: Service, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${service.url}/ready`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`${service.name} not ready within ${timeoutMs} ms:\n${service.output.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kill whatever a test file left running (call in afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.kill()));
}
