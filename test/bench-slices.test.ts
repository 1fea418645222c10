// The latency scenario's alternating schedule (bench/lib/slices.ts): the pipeline and the bare chain in turns of
// one slice, each with its own warm-up, and the same share of the measured events.
import { describe, expect, it } from 'vitest';
import { slotAt } from '../bench/lib/slices.js';

/** The schedule of `rate` events/s for `seconds` per server, as load/latency.ts sends it. */
function schedule(rate: number, seconds: number, warmupSeconds: number, servers: number, sliceMs: number) {
  const total = Math.round(rate * (seconds + warmupSeconds) * servers);
  return Array.from({ length: total }, (_, seq) => slotAt((seq * 1000) / rate, sliceMs, servers, warmupSeconds * 1000));
}

describe('bench alternating slices', () => {
  it('alternates the servers slice by slice (ABAB…)', () => {
    expect([0, 999, 1000, 1999, 2000, 3000, 4500].map((ms) => slotAt(ms, 1000, 2, 0).server)).toEqual([0, 0, 1, 1, 0, 1, 0]);
    expect([0, 1000, 2000, 3000].map((ms) => slotAt(ms, 1000, 3, 0).server)).toEqual([0, 1, 2, 0]);
  });

  it('warms each server up in its own first slices, not only the first server', () => {
    // 1 s slices, 1 s of warm-up: A's slice 0 and B's slice 1 are warm-up, everything after is measured.
    expect(slotAt(500, 1000, 2, 1000)).toEqual({ server: 0, warm: true });
    expect(slotAt(1500, 1000, 2, 1000)).toEqual({ server: 1, warm: true });
    expect(slotAt(2000, 1000, 2, 1000)).toEqual({ server: 0, warm: false });
    expect(slotAt(3999, 1000, 2, 1000)).toEqual({ server: 1, warm: false });
    // A warm-up of 1.5 slices reaches into each server's second slice.
    expect(slotAt(2400, 1000, 2, 1500)).toEqual({ server: 0, warm: true });
    expect(slotAt(2600, 1000, 2, 1500)).toEqual({ server: 0, warm: false });
  });

  it('gives each server the same number of measured and of warm-up events', () => {
    const slots = schedule(1000, 5, 1, 2, 1000);
    expect(slots).toHaveLength(12_000);
    for (const server of [0, 1]) {
      const mine = slots.filter((s) => s.server === server);
      expect(mine.filter((s) => !s.warm)).toHaveLength(5000);
      expect(mine.filter((s) => s.warm)).toHaveLength(1000);
    }
  });

  it('is one unbroken run for one server, the warm-up first', () => {
    const slots = schedule(1000, 2, 1, 1, Infinity);
    expect(slots.every((s) => s.server === 0)).toBe(true);
    expect(slots.findIndex((s) => !s.warm)).toBe(1000);
    expect(slots.slice(1000).every((s) => !s.warm)).toBe(true);
  });
});
