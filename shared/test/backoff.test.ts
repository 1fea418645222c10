// The one backoff formula (shared/src/backoff.ts): its bounds for any attempt and any random draw, and the reset.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Backoff, backoffDelay, type BackoffOptions } from '../src/backoff.js';

const options = fc.record({
  initialMs: fc.integer({ min: 1, max: 1_000 }),
  maxMs: fc.integer({ min: 1_000, max: 60_000 }),
  factor: fc.double({ min: 1.1, max: 4, noNaN: true }),
  jitter: fc.double({ min: 0, max: 1, noNaN: true }),
});
const draw = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoffDelay', () => {
  it('stays within [base·(1 − jitter), base] with base = min(max, initial·factor^attempt)', () => {
    fc.assert(
      fc.property(options, fc.integer({ min: 0, max: 10_000 }), draw, (o, attempt, r) => {
        const base = Math.min(o.maxMs, o.initialMs * o.factor ** Math.min(attempt, 64));
        const d = backoffDelay(attempt, o, () => r);
        expect(d).toBeGreaterThanOrEqual(Math.floor(base * (1 - o.jitter)));
        expect(d).toBeLessThanOrEqual(Math.ceil(base));
        expect(d).toBeLessThanOrEqual(o.maxMs);
        expect(Number.isFinite(d)).toBe(true);
      }),
    );
  });

  it('doubles from the first wait to the cap, half of it random by default', () => {
    const o: BackoffOptions = { initialMs: 50, maxMs: 2_000 };
    const top = (a: number) => backoffDelay(a, o, () => 1 - Number.EPSILON);
    const bottom = (a: number) => backoffDelay(a, o, () => 0);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(top)).toEqual([50, 100, 200, 400, 800, 1_600, 2_000, 2_000]);
    expect([0, 1, 5, 6, 1_000_000].map(bottom)).toEqual([25, 50, 800, 1_000, 1_000]);
    expect(backoffDelay(3, { ...o, jitter: 0 }, () => 0.3)).toBe(400);
  });

  it('never waits less for a later attempt at the same draw', () => {
    fc.assert(
      fc.property(options, fc.integer({ min: 0, max: 100 }), draw, (o, attempt, r) => {
        expect(backoffDelay(attempt + 1, o, () => r)).toBeGreaterThanOrEqual(backoffDelay(attempt, o, () => r));
      }),
    );
  });

  it('spreads the waits of one attempt over its range (jitter is real)', () => {
    const waits = new Set(Array.from({ length: 200 }, () => backoffDelay(5, { initialMs: 50, maxMs: 2_000 })));
    expect(waits.size).toBeGreaterThan(50);
    for (const w of waits) expect(w >= 800 && w <= 1_600).toBe(true);
  });
});

describe('Backoff', () => {
  it('counts attempts, grows, and starts over after reset() (a success)', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1_000, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1_000]);
    expect(b.attempts).toBe(5);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(100);
  });

  it('wait() sleeps the next delay', async () => {
    const b = new Backoff({ initialMs: 20, maxMs: 20, jitter: 0 });
    const t0 = performance.now();
    await b.wait();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(19);
    expect(b.attempts).toBe(1);
  });
});
