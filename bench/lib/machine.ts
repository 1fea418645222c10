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
