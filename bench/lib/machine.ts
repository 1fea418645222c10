// What the figures were measured on: machine, versions and commit, recorded with every run.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type pg from 'pg';
import type { Redis } from 'ioredis';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  /** 1-minute load average when the run started and ended: other work on the machine skews the figures. */
  loadavgStart: number;
  loadavgEnd?: number;
  /** 1-, 5- and 15-minute load averages when the run started. */
  loadavg?: number[];
  /** CPUs this process may use (nproc). */
  nproc?: number;
  /** Share of the machine's CPU time busy in the second before the run started: other work, not the bench. */
  busyBefore?: number;
  /** Share of CPU time stolen by the hypervisor over the whole run (/proc/stat steal). */
  steal?: number;
  /** A fixed single-core integer loop, million iterations/s (median of 3): the machine's speed in one figure. */
  loopMops?: number;
}

/** The machine-wide CPU counters of /proc/stat's first line, in ticks. */
export interface CpuTimes {
  total: number;
  idle: number;
  steal: number;
}

export function cpuTimes(): CpuTimes {
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user).
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), idle: f[3]! + f[4]!, steal: f[7]! };
}

/** Share of the ticks between two samples that were stolen, and that were busy (not idle, not stolen). */
export function cpuShares(a: CpuTimes, b: CpuTimes): { steal: number; busy: number } {
  const total = b.total - a.total;
  if (total <= 0) return { steal: 0, busy: 0 };
  const steal = (b.steal - a.steal) / total;
  return { steal, busy: 1 - (b.idle - a.idle) / total - steal };
}

/** Million iterations per second of a fixed xorshift loop on one core (median of 3 runs of ~0.1-0.3 s). */
export function singleCoreLoop(iterations = 20_000_000): number {
  const rates: number[] = [];
  for (let run = 0; run < 3; run++) {
    let x = 2463534242;
    const start = performance.now();
    for (let i = 0; i < iterations; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
    const ms = performance.now() - start;
    if (x === 42) console.log(''); // keeps the loop from being optimised away
    rates.push(iterations / ms / 1000);
  }
  rates.sort((a, b) => a - b);
  return Math.round(rates[1]! * 10) / 10;
}

export interface Versions {
  node: string;
  redis: string;
  postgres: string;
}

export interface GitInfo {
  commit: string;
  branch: string;
  dirty: boolean;
}

export function machine(): Machine {
  const model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    cpu: model.trim(),
    cores: os.cpus().length,
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    loadavgStart: Math.round(os.loadavg()[0]! * 100) / 100,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    nproc: os.availableParallelism(),
  };
}

export async function versions(db: pg.Pool, redis: Redis): Promise<Versions> {
  const { rows } = await db.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  const info = await redis.info('server');
  return { node: process.version, redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown', postgres: rows[0]!.v.split(' ')[0]! };
}

export async function redisPid(redis: Redis): Promise<number | undefined> {
  const m = /process_id:(\d+)/.exec(await redis.info('server'));
  return m ? Number(m[1]) : undefined;
}

export function git(): GitInfo {
  const run = (...args: string[]) => {
    try {
      return execFileSync('git', args, { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  const dirty = run('status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results').length > 0;
  return { commit: run('rev-parse', '--short=12', 'HEAD') || 'unknown', branch: run('rev-parse', '--abbrev-ref', 'HEAD'), dirty };
}
