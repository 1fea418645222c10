// Property-based tests (fast-check) of every parser that sees client input: random input is either accepted and
// then satisfies the schema's invariants, or rejected with a 4xx HttpError / an issue list — nothing else is thrown.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, decodeJson, decodeNdjson } from '../../producer/src/decode-events.js';
import { MAX_LIMIT, parseLogsQuery } from '../../gateway/src/logs-query.js';
import { HttpError } from '../src/errors.js';
import { MAX_ATTRIBUTES, MAX_FUTURE_MS, MAX_MESSAGE_BYTES, parseBatch, parseEvent, SERVICE_PATTERN, type ValidEvent } from '../src/event.js';
import { LEVEL_VALUES } from '../src/levels.js';
import { MAX_Q_CHARS, parseFilter } from '../src/protocol.js';
import { parseQuery } from '../src/uws.js';

const LEVEL_NUMBERS = new Set(Object.values(LEVEL_VALUES));

function expectValidEvent(e: ValidEvent) {
  expect(typeof e.message).toBe('string');
  expect(e.message.length).toBeGreaterThan(0);
  expect(Buffer.byteLength(e.message, 'utf8')).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  expect(e.message.includes('\u0000')).toBe(false);
  expect(LEVEL_NUMBERS.has(e.level)).toBe(true);
  expect(e.service).toMatch(SERVICE_PATTERN);
  if (e.ts !== undefined) {
    expect(Number.isInteger(e.ts)).toBe(true);
    expect(e.ts).toBeGreaterThanOrEqual(0);
    expect(e.ts).toBeLessThanOrEqual(Date.now() + MAX_FUTURE_MS);
  }
  expect(Object.keys(e.attributes).length).toBeLessThanOrEqual(MAX_ATTRIBUTES);
  for (const [k, v] of Object.entries(e.attributes)) {
    expect(k.includes('\u0000')).toBe(false);
    expect(v === null || ['string', 'number', 'boolean'].includes(typeof v)).toBe(true);
    if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
    if (typeof v === 'string') expect(v.includes('\u0000')).toBe(false);
  }
  // What travels through the stream must serialize (PostgreSQL gets this JSON as it is).
  expect(() => JSON.stringify(e)).not.toThrow();
}

/** Values shaped like events, valid often enough to exercise the acceptance path too. */
const nearlyEvent = fc.record(
  {
    message: fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constant(''), fc.integer(), fc.constant('a\u0000b'), fc.constant(null)),
    msg: fc.oneof(fc.string(), fc.integer()),
    level: fc.oneof(fc.constantFrom('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'WARN', 'verbose', '30', '35', ''), fc.integer({ min: -10, max: 100 }), fc.double()),
    service: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/), fc.string(), fc.constant("a'b")),
    timestamp: fc.oneof(fc.integer({ min: -1e3, max: 4e12 }), fc.double(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string(), fc.constant('9999-12-31T23:59:59Z')),
    time: fc.integer(),
    attributes: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.double(), fc.boolean(), fc.constant(null), fc.object())), fc.anything()),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);

/** Mostly valid events with random content, including pino lines. */
const validish = fc.record(
  {
    message: fc.string({ minLength: 1, unit: 'grapheme' }),
    level: fc.constantFrom('trace', 'debug', 'info', 'warn', 'error', 'fatal', 10, 20, 30, 40, 50, 60),
    service: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/),
    timestamp: fc.oneof(fc.integer({ min: 0, max: Date.now() }), fc.date({ min: new Date(0), max: new Date(), noInvalidDate: true }).map((d) => d.toISOString())),
    attributes: fc.dictionary(fc.string({ maxLength: 20 }), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 10 }),
    pid: fc.integer(),
    req: fc.jsonValue(),
  },
  { requiredKeys: ['message'] },
);

describe('event parser', () => {
  it('parseEvent accepts only valid events and never throws', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), nearlyEvent, validish), (raw) => {
        const r = parseEvent(raw, 3);
        if (r.ok) expectValidEvent(r.event);
        else {
          expect(r.issues.length).toBeGreaterThan(0);
          for (const i of r.issues) {
            expect(i.index).toBe(3);
            expect(typeof i.path).toBe('string');
            expect(typeof i.message).toBe('string');
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on deeply nested values, wherever they sit', () => {
    const nest = (depth: number, leaf: unknown, asArray: boolean) => {
      let v: unknown = leaf;
      for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
      return v;
    };
    const deep = fc
      .tuple(fc.integer({ min: 1, max: 120_000 }), fc.boolean(), fc.constantFrom('message', 'attributes', 'extra', 'level', 'timestamp'))
      .map(([depth, asArray, key]) => ({ message: 'a', [key]: nest(depth, 'x', asArray) }));
    fc.assert(
      fc.property(deep, (raw) => {
        const r = parseEvent(raw);
        if (r.ok) expectValidEvent(r.event);
        else expect(r.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: 40 },
    );
  });

  it('accepts a good share of near-valid events (so the property above is not vacuous)', () => {
    const samples = fc.sample(validish, 1000);
    const ok = samples.filter((s) => parseEvent(s).ok).length;
    expect(ok).toBeGreaterThan(500);
  });

  it('parseBatch is all or nothing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(fc.oneof(nearlyEvent, validish, fc.anything()), { maxLength: 30 }), fc.array(validish, { maxLength: 30 })), (raws) => {
        const r = parseBatch(raws);
        const each = raws.map((x, i) => parseEvent(x, i));
        if (r.ok) {
          expect(each.every((e) => e.ok)).toBe(true);
          expect(r.events.length).toBe(raws.length);
          r.events.forEach(expectValidEvent);
        } else {
          expect(each.some((e) => !e.ok)).toBe(true);
          for (const i of r.issues) expect(each[i.index]!.ok).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('body and frame decoders return values or throw a 4xx HttpError', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.jsonValue().map((v) => JSON.stringify(v)), fc.array(fc.jsonValue().map((v) => JSON.stringify(v))).map((l) => l.join('\n')));
    fc.assert(
      fc.property(text, (s) => {
        for (const decode of [decodeJson, decodeNdjson, decodeFrame]) {
          try {
            const out = decode(s);
            expect(Array.isArray(out)).toBe(true);
            expect(out.length).toBeGreaterThan(0);
          } catch (err) {
            expect(err).toBeInstanceOf(HttpError);
            expect((err as HttpError).status).toBeGreaterThanOrEqual(400);
            expect((err as HttpError).status).toBeLessThan(500);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('query parsers', () => {
  it('parseFilter accepts only well-formed filters and never throws', () => {
    const filterInput = fc.oneof(
      fc.anything(),
      fc.record(
        {
          service: fc.oneof(fc.string(), fc.array(fc.string()), fc.stringMatching(/^[a-z0-9,]{0,40}$/), fc.anything()),
          level: fc.oneof(fc.constantFrom('', 'trace', 'WARN', 'error', 'fatal', 'verbose'), fc.string(), fc.anything()),
          q: fc.oneof(fc.string(), fc.string({ maxLength: 300 }), fc.constant("' OR 1=1 --"), fc.anything()),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(filterInput, (input) => {
        const r = parseFilter(input);
        if (r.ok) {
          const f = r.filter;
          expect([0, ...LEVEL_NUMBERS]).toContain(f.minLevel);
          // q is kept as typed (case folding is PostgreSQL's, gateway/src/text-match.ts).
          expect(f.q.length).toBeLessThanOrEqual(MAX_Q_CHARS);
          expect(f.q.includes('\u0000')).toBe(false);
          expect([...f.services].sort()).toEqual(f.services);
          expect(new Set(f.services).size).toBe(f.services.length);
          for (const s of f.services) expect(s).toMatch(SERVICE_PATTERN);
        } else {
          expect(typeof r.message).toBe('string');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('parseLogsQuery returns a bounded query or throws a 400 HttpError', () => {
    const value = fc.oneof(fc.string(), fc.nat().map(String), fc.integer().map(String), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom('', '0', '1000', '1001', '9999999999999999', '99999999999999999999', "' OR 1=1 --", 'warn', 'api,web'));
    const params = fc
      .dictionary(fc.constantFrom('limit', 'service', 'level', 'q', 'since', 'until', 'before', 'after', 'token', 'other'), value)
      .map((d) => new Map(Object.entries(d)));
    fc.assert(
      fc.property(params, (p) => {
        try {
          const q = parseLogsQuery(p);
          expect(Number.isInteger(q.limit)).toBe(true);
          expect(q.limit).toBeGreaterThanOrEqual(1);
          expect(q.limit).toBeLessThanOrEqual(MAX_LIMIT);
          for (const id of [q.before, q.after]) if (id !== undefined) expect(Number.isSafeInteger(id) && id >= 0).toBe(true);
          for (const d of [q.since, q.until]) if (d !== undefined) expect(Number.isFinite(d.getTime())).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(HttpError);
          expect((err as HttpError).status).toBe(400);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('parseQuery returns a map or throws a 400 HttpError for any query string', () => {
    const query = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.array(fc.tuple(fc.string(), fc.string()).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).map((a) => a.join('&')), fc.stringMatching(/^(%[0-9A-Fa-f]{2}|[a-z=&%+])*$/));
    fc.assert(
      fc.property(query, (s) => {
        try {
          const m = parseQuery(s);
          for (const [k, v] of m) {
            expect(k.includes('\uFFFD') || v.includes('\uFFFD')).toBe(false);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(HttpError);
          expect((err as HttpError).status).toBe(400);
        }
      }),
      { numRuns: 2000 },
    );
    // Round trip: what encodeURIComponent made comes back as it was (lone surrogates aside, which it refuses).
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'grapheme', minLength: 1 }), fc.string({ unit: 'grapheme' })), (d) => {
        const entries = Object.entries(d).filter(([k, v]) => !`${k}${v}`.includes('\uFFFD'));
        const m = parseQuery(entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
        for (const [k, v] of entries) expect(m.get(k)).toBe(v);
      }),
      { numRuns: 500 },
    );
  });
});

describe('level names', () => {
  it('are not looked up on Object.prototype (counterexample {"level":"__proto__"})', () => {
    for (const level of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) expect(parseFilter({ level }).ok).toBe(false);
  });
});

describe('q as typed', () => {
  it('accepts a q at the limit and keeps it as typed (no JavaScript lower-casing: İ stays İ)', () => {
    const r = parseFilter({ q: 'İ'.repeat(MAX_Q_CHARS) });
    expect(r.ok && r.filter.q).toBe('İ'.repeat(MAX_Q_CHARS));
    expect(parseFilter({ q: 'x'.repeat(MAX_Q_CHARS + 1) }).ok).toBe(false);
  });
});
