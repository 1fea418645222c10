// CPU time and memory of processes, from /proc (Linux): how the scenarios see where the time goes.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SEC = 100; // getconf CLK_TCK on Linux x86_64
const PAGE_BYTES = 4096;

export interface ProcSample {
  /** user + system CPU seconds since the process started (its live threads', to the nanosecond; see cpuSecOf). */
  cpuSec: number;
  /** The same from utime + stime of /proc/<pid>/stat: clock ticks of 10 ms, threads that exited included. */
  tickCpuSec: number;
  rssMb: number;
}

/**
 * CPU seconds a process's live threads have run, from the first field of /proc/<pid>/task/<tid>/schedstat
 * (nanoseconds; the same sum_exec_runtime that /proc/<pid>/stat rounds down to clock ticks per field). Ticks made
 * a producer's 0.2-0.4 s of CPU in a shippers run a count of 20-40, so that two readings of one process moved its
 * CPU per event by up to ±10 % (values were multiples of 0.67 ms per 1,000 events). A thread that exits is left
 * out from then on; the services' threads (V8's, libuv's, Redis's, a PostgreSQL backend's one) live as long as
 * their process. null when schedstat is not there (a kernel without CONFIG_SCHED_INFO).
 */
export function cpuSecOf(pid: number): number | null {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread exited meanwhile
      }
    }
    return ns / 1e9;
  } catch {
    return null;
  }
}

export function procSample(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15, rss 24.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tickCpuSec = (Number(f[11]) + Number(f[12])) / TICKS_PER_SEC;
    return { cpuSec: cpuSecOf(pid) ?? tickCpuSec, tickCpuSec, rssMb: (Number(f[21]) * PAGE_BYTES) / 1048576 };
  } catch {
    return null;
  }
}

/** Every process whose command name is `comm` (e.g. all postgres backends). */
export function pidsNamed(comm: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm) out.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** CPU seconds of a set of pids, keyed by pid (missing pids are skipped). */
export function cpuOf(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const s = procSample(pid);
    if (s) out.set(pid, s.cpuSec);
  }
  return out;
}

/** CPU seconds spent between two snapshots by the pids of `after` (a pid absent before counts from 0). */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>, pids?: readonly number[]): number {
  let total = 0;
  for (const [pid, cpu] of after) {
    if (pids && !pids.includes(pid)) continue;
    total += cpu - (before.get(pid) ?? 0);
  }
  return total;
}
