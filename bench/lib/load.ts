// Load generators run as separate Node processes (so their CPU is theirs, not the orchestrator's), talk to the
// services over HTTP/WebSocket only, and report progress and their result over the IPC channel.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = fileURLToPath(new URL('../', import.meta.url));
const children = new Set<ChildProcess>();

export interface LoadMessage {
  type: string;
  [k: string]: unknown;
}

export interface LoadHandle<T> {
  pid: number;
  result: Promise<T>;
  /** Resolves with the first message of this type the generator sends. */
  next(type: string): Promise<LoadMessage>;
  send(msg: LoadMessage): void;
  kill(): void;
}

export function startLoad<T>(script: string, params: object, onProgress: (text: string) => void): LoadHandle<T> {
  const child = fork(`${BENCH_DIR}${script}`, [JSON.stringify(params)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  const waiters: { type: string; resolve: (m: LoadMessage) => void }[] = [];
  const seen: LoadMessage[] = [];
  const result = new Promise<T>((resolve, reject) => {
    child.on('message', (m: LoadMessage) => {
      if (m.type === 'progress') onProgress(String(m.text));
      else if (m.type === 'result') resolve(m.result as T);
      else {
        const i = waiters.findIndex((w) => w.type === m.type);
        if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
        else seen.push(m);
      }
    });
    child.once('exit', (code, signal) => {
      children.delete(child);
      reject(new Error(`load generator ${script} exited (${signal ?? code}) without a result`));
    });
  });
  result.catch(() => {});
  return {
    pid: child.pid!,
    result,
    next(type) {
      const i = seen.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(seen.splice(i, 1)[0]!);
      return new Promise((resolve, reject) => {
        waiters.push({ type, resolve });
        result.then(() => reject(new Error(`${script} finished before sending ${type}`)), reject);
      });
    },
    send: (msg) => {
      if (child.connected) child.send(msg);
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Ctrl-C / failure: stop every load generator still running. */
export function killAllLoads(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
