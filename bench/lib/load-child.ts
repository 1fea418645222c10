// The load-generator side of the IPC channel: parameters in argv[2], progress and the result back to the parent.
import type { LoadMessage } from './load.js';

export function params<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}

export function progress(text: string): void {
  process.send?.({ type: 'progress', text });
}

export function notify(msg: LoadMessage): void {
  process.send?.(msg);
}

/** Resolves with the first message of this type from the parent. */
export function fromParent(type: string): Promise<LoadMessage> {
  return new Promise((resolve) => {
    const on = (m: LoadMessage) => {
      if (m.type === type) {
        process.off('message', on);
        resolve(m);
      }
    };
    process.on('message', on);
  });
}

/** Send the result, then exit once it is flushed. */
export function finish(result: object): void {
  // The generator's own CPU time, so that the report can say how much of the machine the load took.
  const cpu = process.cpuUsage();
  result = { ...result, cpuSec: (cpu.user + cpu.system) / 1e6 };
  if (!process.send) {
    console.log(JSON.stringify(result, null, 2));
    process.exit(0);
  }
  process.send({ type: 'result', result }, () => process.exit(0));
}

/**
 * Wall-clock milliseconds, comparable across processes on one machine. Date.now(), not performance.timeOrigin +
 * performance.now(): the latter differed between processes by tens of ms here (timeOrigin is fixed at start-up).
 */
export const wallMs = () => Date.now();

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A parent that disappears (Ctrl-C, crash) takes its load generators with it.
process.on('disconnect', () => process.exit(0));

/**
 * A generator that stays up for several runs (the shippers scenario makes 30 of them; starting a generator took
 * 3 s of wall time under load): each {type:'run', params} from the parent makes one run, answered with
 * {type:'done', result}. The parent disconnecting ends it.
 */
export function serveRuns<P>(run: (more: Partial<P>) => Promise<object>): void {
  let queue = Promise.resolve();
  process.on('message', (m: LoadMessage) => {
    if (m.type !== 'run') return;
    queue = queue.then(async () => notify({ type: 'done', result: await run(m.params as Partial<P>) }));
  });
  notify({ type: 'ready' });
}
