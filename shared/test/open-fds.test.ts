// The descriptor count behind the HTTP side of the connection cap (issue 11 point 5), on this process's own
// descriptors: the exact count (Linux >= 6.2), the sampled fallback, and the cap's rule for when to count again.
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConnectionCap, LATER_FDS } from '@logstream/shared/connection-cap.js';
import { openFdCounter } from '@logstream/shared/open-fds.js';
import { waitFor } from '../../test/helpers/test-env.js';

const openMany = (n: number) => Array.from({ length: n }, () => openSync('/dev/null', 'r'));

describe.runIf(existsSync('/proc/self/fd'))('openFdCounter', () => {
  it.runIf(existsSync('/proc/self/fd') && statSync('/proc/self/fd').size > 0)('counts descriptors as they open and close (Linux 6.2 or later)', () => {
    const c = openFdCounter()!;
    expect(c.exact).toBe(true);
    const n0 = c.count();
    const fds = openMany(100);
    expect(c.count()).toBe(n0 + 100);
    for (const fd of fds) closeSync(fd);
    expect(c.count()).toBe(n0);
    c.stop();
  });

  it('falls back to listing the directory where its size is 0 (older kernels; /proc/self/fdinfo reports 0 here)', async () => {
    const c = openFdCounter('/proc/self/fdinfo')!;
    expect(c.exact).toBe(false);
    const n0 = c.count();
    expect(n0).toBeGreaterThan(2);
    const fds = openMany(100);
    await waitFor('the sample to see 100 more', () => c.count() >= n0 + 100, 30_000);
    for (const fd of fds) closeSync(fd);
    c.stop();
  });

  it('is undefined where the directory is missing', () => {
    expect(openFdCounter('/proc/self/no-such-dir')).toBeUndefined();
  });
});

describe('ConnectionCap.full', () => {
  it('is over the cap past max + LATER_FDS beyond the descriptors counted at start, and counts again only when it must', () => {
    let fds = 40;
    let counts = 0;
    const cap = new ConnectionCap(10);
    expect(cap.full()).toBe(false);
    cap.countDescriptors(() => (counts++, fds));
    expect(cap.ceiling).toBe(40 + LATER_FDS + 10);
    // 3 under the ceiling: the next 3 may each add one socket without a count, the 4th is counted.
    fds = cap.ceiling - 3;
    counts = 0;
    expect(cap.full()).toBe(false);
    expect(counts).toBe(1);
    for (let i = 0; i < 3; i++) expect(cap.full()).toBe(false);
    expect(counts).toBe(1);
    fds = cap.ceiling + 1;
    expect(cap.full()).toBe(true);
    expect(counts).toBe(2);
    // Over the ceiling every request is counted, until sockets close.
    expect(cap.full()).toBe(true);
    fds = cap.ceiling;
    expect(cap.full()).toBe(false);
    expect(counts).toBe(4);
    expect(cap.full()).toBe(false);
    expect(counts).toBe(5);
  });
});
