// CPU time and memory of processes, from /proc (Linux): how the scale and soak scenarios see where the time goes.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SEC = 100; // getconf CLK_TCK on Linux x86_64
const PAGE_BYTES = 4096;

export interface ProcSample {
  /** user + system CPU seconds since the process started. */
  cpuSec: number;
  rssMb: number;
}

export function procSample(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15, rss 24.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { cpuSec: (Number(f[11]) + Number(f[12])) / TICKS_PER_SEC, rssMb: (Number(f[21]) * PAGE_BYTES) / 1048576 };
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
