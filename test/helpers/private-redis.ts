// A private redis-server for fault tests: its own port and data folder, append-only file on, so that it can be
// SIGKILLed and restarted on the same port and data without disturbing the shared Redis on 6379.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface PrivateRedis {
  port: number;
  dir: string;
  /** Start (or start again, on the same port and data). Resolves once it answers PING (AOF loaded). */
  start(): Promise<void>;
  /** SHUTDOWN-like stop: SIGTERM, wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL, wait for exit: no chance to flush anything it has not written yet. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server freezes with connections open (commands hang rather than fail). */
  pause(): void;
  resume(): void;
  running(): boolean;
  /** Stop and delete the data folder. */
  destroy(): Promise<void>;
}

/** PING over a raw socket; true on +PONG (a loading server answers -LOADING). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

/** `persistence: false`: no append-only file and no snapshot, so a restart starts empty (issue 11 point 8). */
export async function startPrivateRedis(opts: { appendfsync?: 'everysec' | 'always'; persistence?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ls-redis-'));
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const log: string[] = [];

  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', opts.persistence === false ? 'no' : 'yes', '--appendfsync', opts.appendfsync ?? 'everysec', '--save', '', '--daemonize', 'no', '--protected-mode', 'no'];

  const waitExit = async (signal: NodeJS.Signals) => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill(signal);
    await exited;
  };

  const r: PrivateRedis = {
    port,
    dir,
    async start() {
      if (r.running()) return;
      const p = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      proc = p;
      exited = new Promise((resolve) => p.once('exit', () => resolve()));
      p.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
      p.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
      const deadline = Date.now() + 15_000;
      while (!(await ping(port))) {
        if (p.exitCode !== null) throw new Error(`redis-server exited: ${log.join('')}`);
        if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer PING: ${log.join('')}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    },
    stop: () => waitExit('SIGTERM'),
    kill: () => waitExit('SIGKILL'),
    async restart() {
      await r.stop();
      await r.start();
    },
    pause: () => void proc?.kill('SIGSTOP'),
    resume: () => void proc?.kill('SIGCONT'),
    running: () => !!proc && proc.exitCode === null && proc.signalCode === null,
    async destroy() {
      await r.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await r.start();
  return r;
}
