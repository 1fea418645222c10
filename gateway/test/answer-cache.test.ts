// The label endpoints' answer cache (issue 16, labels p95): a kept answer for LABEL_CACHE_MS, one query for
// identical requests in flight, failures not kept, a bounded size; windows rounded out to whole steps.
import { describe, expect, it } from 'vitest';
import { AnswerCache, LABEL_CACHE_MS, roundedWindow } from '../src/loki/answer-cache.js';

const STEP = BigInt(LABEL_CACHE_MS) * 1_000_000n;

describe('AnswerCache', () => {
  it('keeps an answer for its time, then asks again', async () => {
    let now = 1_000;
    const cache = new AnswerCache<number>(10_000, 100, () => now);
    let calls = 0;
    const compute = async () => ++calls;
    expect(await cache.get('k', compute)).toBe(1);
    now += 9_999;
    expect(await cache.get('k', compute)).toBe(1);
    expect(await cache.get('other', compute)).toBe(2);
    now += 1;
    expect(await cache.get('k', compute)).toBe(3);
  });

  it('shares one computation between identical requests in flight', async () => {
    const cache = new AnswerCache<string>(10_000, 100, () => 0);
    let calls = 0;
    let release!: (v: string) => void;
    const compute = () => (calls++, new Promise<string>((r) => (release = r)));
    const a = cache.get('k', compute);
    const b = cache.get('k', compute);
    release('answer');
    expect(await Promise.all([a, b])).toEqual(['answer', 'answer']);
    expect(calls).toBe(1);
  });

  it('does not keep a failure', async () => {
    const cache = new AnswerCache<number>(10_000, 100, () => 0);
    await expect(cache.get('k', () => Promise.reject(new Error('timeout')))).rejects.toThrow('timeout');
    expect(await cache.get('k', async () => 7)).toBe(7);
  });

  it('drops the oldest entries past its size', async () => {
    const cache = new AnswerCache<string>(10_000, 2, () => 0);
    for (const k of ['a', 'b', 'c']) await cache.get(k, async () => k);
    expect(await cache.get('a', async () => 'again')).toBe('again');
    expect(await cache.get('c', async () => 'again')).toBe('c');
  });
});

describe('roundedWindow', () => {
  it('rounds start down and end up to whole steps, and keeps whole ones', () => {
    const start = 5n * STEP + 123n;
    const end = 9n * STEP + 1n;
    expect(roundedWindow({ start, end })).toEqual({ start: 5n * STEP, end: 10n * STEP });
    expect(roundedWindow({ start: 5n * STEP, end: 9n * STEP })).toEqual({ start: 5n * STEP, end: 9n * STEP });
  });
});
