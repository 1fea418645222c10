// One definition of a text match (issue 11 point 7): over random Unicode, the live hub's test (TextFold, folded as
// PostgreSQL's lower() does) picks exactly the rows that the stored paths pick in real PostgreSQL: the /logs search
// (strpos on lower(), via queryLogs) and ILIKE (filterWhere: the trigram-index path, /stats, replays via matchingRows).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFilter, type Filter } from '@logstream/shared/protocol.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/test-env.js';
import { seed } from '../../test/helpers/seed.js';
import { queryLogs } from '../src/logs-query.js';
import { matchingRows } from '../src/live/queries.js';
import { LiveTextIndex } from '../src/live/text-index.js';
import { loadTextFold, type TextFold } from '../src/text-match.js';

let t: TestEnv;
let text: TextFold;

beforeAll(async () => {
  t = await createTestEnv('text_match');
  const loaded = await loadTextFold(t.pool);
  expect(loaded.perCharacter).toBe(true);
  text = loaded.fold;
});
afterAll(async () => t.cleanup());

// Characters whose case rules differ between JavaScript, ICU and libc: sigma and final sigma, dotted and dotless I,
// the Kelvin and Ohm signs, sharp s, a title-case digraph, Cherokee, Deseret (astral), a combining dot above.
const tricky = fc.constantFrom('Σ', 'σ', 'ς', 'ΟΔΟΣ', 'İ', 'ı', 'I', 'i', '\u0307', 'K', 'k', '\u212A', '\u2126', 'ω', 'ß', 'ẞ', 'ǅ', 'ǆ', 'Ꭰ', 'ꭰ', '𐐀', '𐐨', 'É', 'é', ' ', '%', '_', '\\');
/** No lone surrogate (what PostgreSQL could not store). */
const wellFormed = (s: string) => !/\p{Surrogate}/u.test(s);
const piece = fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), tricky, fc.string({ unit: 'grapheme-ascii', maxLength: 4 }));
const text0 = fc
  .array(piece, { minLength: 1, maxLength: 6 })
  .map((parts) => parts.join('').replace(/\u0000/g, ''))
  .filter((s) => s.length > 0 && wellFormed(s));

/** A q that is often in the message in some other case, sometimes not at all. */
const caseCase = fc.constantFrom((s: string) => s, (s: string) => s.toUpperCase(), (s: string) => s.toLowerCase(), (s: string) => s.toLocaleUpperCase('tr'));

const scenario = fc.record({
  messages: fc.array(text0, { minLength: 1, maxLength: 12 }),
  picks: fc.array(fc.record({ row: fc.nat(), start: fc.nat(), len: fc.integer({ min: 1, max: 5 }), change: caseCase, other: fc.option(text0, { nil: undefined }) }), { minLength: 1, maxLength: 4 }),
});

function filterOf(q: string): Filter {
  const f = parseFilter({ q });
  if (!f.ok) throw new Error(f.message);
  return f.filter;
}

describe('live and stored paths agree on a text match', () => {
  it('over random Unicode messages and queries', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ messages, picks }) => {
        await t.pool.query('TRUNCATE logs');
        const ids = await seed(t.pool, t.channel, messages.map((message) => ({ message })));
        for (const p of picks) {
          const m = [...messages[p.row % messages.length]!];
          const start = p.start % m.length;
          const q = (p.other ?? p.change(m.slice(start, start + p.len).join(''))).slice(0, 256);
          if (q === '' || q.includes('\u0000') || !wellFormed(q)) continue;
          const filter = filterOf(q);
          // The live path: what the hub publishes to a group with this filter (live/fanout.ts, publish).
          const foldedQ = text.fold(filter.q);
          const index = new LiveTextIndex(text);
          index.add(foldedQ);
          const contains = index.scan(messages);
          const live = ids.filter((_, i) => contains(i, foldedQ));
          // The stored paths.
          const logs = await queryLogs(t.pool, { filter, limit: 1000 }, { firstWindow: 1000, budgetMs: 60_000 });
          const replay = await matchingRows(t.pool, filter, 0, Number.MAX_SAFE_INTEGER);
          const context = { q, messages };
          expect([...logs.ids].sort((a, b) => a - b), JSON.stringify(context)).toEqual(live);
          expect(replay.rows.map((r) => r.id), JSON.stringify(context)).toEqual(live);
        }
      }),
      { numRuns: 80 },
    );
  });

  it('folds as PostgreSQL does where JavaScript differs (ΟΔΟΣ, İ)', async () => {
    for (const s of ['ΟΔΟΣ', 'İ', 'ΣΑΣ']) {
      const { rows } = await t.pool.query<{ l: string }>('SELECT lower($1) AS l', [s]);
      expect(text.fold(s)).toBe(rows[0]!.l);
    }
    expect(text.fold('ΟΔΟΣ')).not.toBe('ΟΔΟΣ'.toLowerCase());
  });
});
