// A bench stack: its own database, stream, group and NOTIFY channel (the test helpers' isolation), and the real
// services started as processes. Everything started here is stopped by stop(), or by stopEverything() on Ctrl-C.
import { startService, stopAll, type Service } from '../../test/helpers/services.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/test-env.js';
import { procSample } from './proc.js';

export interface StackOptions {
  producer?: boolean;
  gateway?: boolean;
  processors?: number;
  env?: Record<string, string>;
  /** Directory for --cpu-prof profiles of the services (bench --profile). */
  profileDir?: string;
}

export interface Stack {
  t: TestEnv;
  producer?: Service;
  gateway?: Service;
  processors: Service[];
  services(): Service[];
  /** Start more processors on the same database and stream (the scale scenario). */
  addProcessors(n: number): Promise<void>;
  /** RSS (MB) of each service, keyed by a label such as processor-1. */
  rss(): Record<string, number>;
  stop(): Promise<void>;
}

const envs = new Set<TestEnv>();

/** Environment that makes a service write a CPU profile into `dir` when it exits (see cpu-profile-hook.mjs). */
export function profileEnv(dir: string): Record<string, string> {
  const hook = new URL('./cpu-profile-hook.mjs', import.meta.url).href;
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${hook}`.trim(), BENCH_PROFILE_DIR: dir };
}

export async function startStack(name: string, o: StackOptions): Promise<Stack> {
  const t = await createTestEnv(`bench_${name}`);
  envs.add(t);
  const env: Record<string, string> = { ...t.env, LOG_LEVEL: 'info', ...o.env };
  if (o.profileDir) Object.assign(env, profileEnv(o.profileDir));
  const wanted: Promise<Service>[] = [];
  if (o.producer) wanted.push(startService('producer', env));
  if (o.gateway) wanted.push(startService('gateway', env));
  for (let i = 0; i < (o.processors ?? 0); i++) wanted.push(startService('processor', env));
  let started: Service[];
  try {
    started = await Promise.all(wanted);
  } catch (err) {
    await stopAll();
    await t.cleanup();
    envs.delete(t);
    throw err;
  }
  const stack: Stack = {
    t,
    producer: started.find((s) => s.name === 'producer'),
    gateway: started.find((s) => s.name === 'gateway'),
    processors: started.filter((s) => s.name === 'processor'),
    services: () => started,
    async addProcessors(n) {
      const more = await Promise.all(Array.from({ length: n }, () => startService('processor', env)));
      started.push(...more);
      stack.processors.push(...more);
    },
    rss() {
      const out: Record<string, number> = {};
      for (const s of started) {
        const label = s.name === 'processor' ? `processor-${stack.processors.indexOf(s) + 1}` : s.name;
        out[label] = Math.round((procSample(s.proc.pid!)?.rssMb ?? 0) * 10) / 10;
      }
      return out;
    },
    async stop() {
      // SIGTERM so that services exit cleanly (and write their --cpu-prof profiles); processors drain first.
      await Promise.all(started.map((s) => Promise.race([s.stop(), new Promise((r) => setTimeout(r, 15_000))])));
      await stopAll();
      await t.cleanup();
      envs.delete(t);
    },
  };
  return stack;
}

/** Ctrl-C: kill every service and drop every bench database and stream. */
export async function stopEverything(): Promise<void> {
  await stopAll();
  await Promise.all([...envs].map((t) => t.cleanup().catch(() => {})));
  envs.clear();
}
