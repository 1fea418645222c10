// CPU time of the PostgreSQL cluster that a bench database caused, read from /proc (bench/lib/proc.ts) for every
// `postgres` process: the database's own backends (and autovacuum workers), plus the cluster's shared processes
// (postmaster, WAL writer, checkpointer, background writer…), whose work this run shares with anyone else on the
// cluster.
// Backends of other databases (other tests on a shared machine) are left out.
import type pg from 'pg';
import { cpuOf, pidsNamed } from './proc.js';

export interface PgCpuSnapshot {
  cpu: Map<number, number>;
  /** pid → 'bench' (this database), 'shared' (no database: the cluster's own processes) or 'other'. */
  kind: Map<number, 'bench' | 'shared' | 'other'>;
}

export interface PgCpu {
  bench: number;
  shared: number;
}

export async function pgCpuSnapshot(db: pg.Pool | pg.Client): Promise<PgCpuSnapshot> {
  const { rows } = await db.query<{ pid: number; ours: boolean | null }>(
    `SELECT pid, datname = current_database() AS ours FROM pg_stat_activity`,
  );
  const cpu = cpuOf(pidsNamed('postgres'));
  const byPid = new Map(rows.map((r) => [r.pid, r.ours]));
  const kind = new Map<number, 'bench' | 'shared' | 'other'>();
  for (const pid of cpu.keys()) {
    const ours = byPid.get(pid);
    // Not in pg_stat_activity (postmaster, logger) or without a database (WAL writer, checkpointer…): shared.
    kind.set(pid, ours === true ? 'bench' : ours === false ? 'other' : 'shared');
  }
  return { cpu, kind };
}

/** CPU seconds between two snapshots, by kind as seen at the end (a process born in between counts from 0). */
export function pgCpuBetween(before: PgCpuSnapshot, after: PgCpuSnapshot): PgCpu {
  const out: PgCpu = { bench: 0, shared: 0 };
  for (const [pid, cpu] of after.cpu) {
    const k = after.kind.get(pid);
    if (k === 'bench' || k === 'shared') out[k] += cpu - (before.cpu.get(pid) ?? 0);
  }
  return out;
}
