// The live hub's one-pass text test (live/multi-match.ts, live/text-index.ts) against String.prototype.includes, over random
// strings with many overlapping patterns (a, aa, ab…, where failure and dictionary links matter).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MultiMatcher } from '../src/live/multi-match.js';

const small = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'é', '𐐀'), maxLength: 12 });

describe('MultiMatcher', () => {
  it('finds exactly the patterns that includes() finds', () => {
    fc.assert(
      fc.property(fc.uniqueArray(small.filter((s) => s.length > 0), { maxLength: 30 }), fc.array(small, { maxLength: 10 }), (patterns, texts) => {
        const m = new MultiMatcher(patterns);
        for (const text of texts) {
          const want = patterns.flatMap((p, i) => (text.includes(p) ? [i] : []));
          expect([...m.find(text)].sort((a, b) => a - b), JSON.stringify({ patterns, text })).toEqual(want);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('scans a message once for 5,000 patterns', () => {
    const patterns = Array.from({ length: 5000 }, (_, i) => `w${i % 500} n${i}`);
    const m = new MultiMatcher(patterns);
    expect([...m.find('GET /item/7 w7 n4507 took 3 ms w8 n8')].sort((a, b) => a - b)).toEqual([8, 4507]);
  });
});
