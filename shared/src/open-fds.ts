// How many file descriptors this process holds, for the HTTP side of the connection cap (issue 11 point 5): uWS
// 20.30 says nothing when an HTTP socket opens or closes, so the descriptors themselves are counted.
import { readdir } from 'node:fs/promises';
import { closeSync, fstatSync, openSync, readdirSync } from 'node:fs';

/** Reads the current count; cheap enough to call on every request. */
export type FdCount = () => number;

/** The fallback's sampling period: a readdir of 19,000 entries took 53-65 ms (load average 11). */
export const FD_SAMPLE_MS = 1_000;

/**
 * A counter of this process's open descriptors, or undefined where /proc is missing. Linux 6.2 and later give the
 * count as the size of /proc/self/fd: an fstat of the directory, kept open, costs 1.2-1.9 µs of CPU at 20 to 19,000
 * descriptors (a stat of the path 2.8-3.5 µs). Older kernels report 0 there, and then the directory is listed off
 * the event loop every FD_SAMPLE_MS, the count being as old as that.
 */
export function openFdCounter(dir = '/proc/self/fd'): { count: FdCount; exact: boolean; stop(): void } | undefined {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return undefined;
  }
  if (fstatSync(fd).size > 0) return { count: () => fstatSync(fd).size, exact: true, stop: () => closeSync(fd) };
  closeSync(fd);
  // The first count is read at once (at start-up, a few dozen entries): the cap's ceiling is computed from it.
  let last = readdirSync(dir).length;
  const sample = () =>
    readdir(dir).then(
      (names) => void (last = names.length),
      () => {},
    );
  const timer = setInterval(sample, FD_SAMPLE_MS);
  timer.unref();
  return { count: () => last, exact: false, stop: () => clearInterval(timer) };
}
