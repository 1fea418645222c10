// The bench's CPU readings of other processes (bench/lib/proc.ts): nanoseconds from schedstat, not 10 ms clock
// ticks, so that a run of a few tenths of a CPU second is not a count of 20-40 ticks.
import { describe, expect, it } from 'vitest';
import { cpuSecOf, procSample } from '../bench/lib/proc.js';

/** Spins until this process has used `ms` more CPU (user + system, all threads) by its own account. */
function burn(ms: number): void {
  const start = process.cpuUsage();
  for (;;) {
    const d = process.cpuUsage(start);
    if ((d.user + d.system) / 1000 >= ms) return;
  }
}

describe('bench process CPU', () => {
  it("reads a process's CPU time to well under a clock tick, as the process itself counts it", () => {
    // Several windows, each compared with process.cpuUsage (getrusage: microseconds). Clock ticks are 10 ms and
    // each of utime and stime is rounded down, so a reading of them is off by up to 20 ms, and a window of
    // 37 ms by about ±10 ms; schedstat agrees with getrusage to a fraction of a millisecond.
    const errors: number[] = [];
    for (let i = 0; i < 5; i++) {
      const self0 = process.cpuUsage();
      const before = cpuSecOf(process.pid)!;
      burn(37);
      const after = cpuSecOf(process.pid)!;
      const self = process.cpuUsage(self0);
      errors.push(Math.abs((after - before) * 1000 - (self.user + self.system) / 1000));
    }
    expect(Math.max(...errors)).toBeLessThan(3);
  });

  it('samples the same figure in procSample, and the clock ticks beside it', () => {
    const s = procSample(process.pid)!;
    expect(s.cpuSec).toBeGreaterThan(0);
    // Both count the same run time; the ticks are rounded down per field (and include exited threads).
    expect(Math.abs(s.cpuSec - s.tickCpuSec)).toBeLessThan(0.5);
    expect(Number.isInteger(Math.round(s.tickCpuSec * 100 * 1e6) / 1e6)).toBe(true);
    expect(s.rssMb).toBeGreaterThan(1);
  });

  it('returns null for a process that is not there', () => {
    expect(cpuSecOf(2 ** 30)).toBeNull();
    expect(procSample(2 ** 30)).toBeNull();
  });
});
