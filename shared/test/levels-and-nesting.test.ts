// Level aliases, custom pino levels and nested fields (issue 14): accepted and mapped, never a 400 or a JSON blob.
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { presentedToken } from '../src/auth.js';
import { MAX_ATTRIBUTES, parseEvent } from '../src/event.js';
import { MAX_FLATTEN_DEPTH } from '../src/flatten-attributes.js';

const ok = (raw: unknown) => {
  const r = parseEvent(raw);
  if (!r.ok) throw new Error(`refused: ${JSON.stringify(r.issues)}`);
  return r.event;
};

describe('level aliases', () => {
  it.each([
    ['warning', 40], ['WARNING', 40], ['Warn', 40], ['err', 50], ['error', 50], ['ERROR', 50], ['crit', 60], ['critical', 60],
    ['emerg', 60], ['emergency', 60], ['alert', 60], ['panic', 60], ['dpanic', 50], ['notice', 30], ['information', 30],
    ['Informational', 30], ['verbose', 10], ['VERBOSE', 10], ['fatal', 60], ['trace', 10], ['debug', 20],
  ])('%s → %i', (level, value) => {
    expect(ok({ message: 'x', level }).level).toBe(value);
  });

  it('still refuses a name nobody uses', () => {
    expect(parseEvent({ message: 'x', level: 'loud' }).ok).toBe(false);
    expect(parseEvent({ message: 'x', level: 'hasOwnProperty' }).ok).toBe(false);
  });
});

describe('custom pino levels', () => {
  it.each([[35, 30], [45, 40], [11, 10], [5, 10], [0, 10], [65, 60], [1000, 60], ['35', 30]])('%s → %i with the number kept', (level, value) => {
    const e = ok({ message: 'x', level });
    expect(e.level).toBe(value);
    expect(e.attributes.level_number).toBe(Number(level));
  });

  it('leaves standard numbers alone', () => {
    expect(ok({ message: 'x', level: 40 }).attributes).toEqual({});
  });

  it('maps what a pino logger with customLevels writes', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (c, _e, cb) => { lines.push(String(c)); cb(); } });
    const log = pino({ customLevels: { audit: 35 }, base: undefined }, sink);
    log.audit({ user: 'ana' }, 'audited');
    const e = ok(JSON.parse(lines[0]!));
    expect(e).toMatchObject({ message: 'audited', level: 30, attributes: { user: 'ana', level_number: 35 } });
  });
});

describe('nested fields', () => {
  it("flattens pino's err, req and res into dotted keys", () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (c, _e, cb) => { lines.push(String(c)); cb(); } });
    const log = pino({ base: undefined, serializers: { req: (r) => r, res: (r) => r } }, sink);
    const err = new Error('disk full');
    log.error({ err, req: { method: 'GET', url: '/x', headers: { host: 'h' } }, res: { statusCode: 500 } }, 'request failed');
    const e = ok(JSON.parse(lines[0]!));
    expect(e.level).toBe(50);
    expect(e.attributes['err.type']).toBe('Error');
    expect(e.attributes['err.message']).toBe('disk full');
    expect(e.attributes['err.stack']).toContain('disk full');
    expect(e.attributes['req.method']).toBe('GET');
    expect(e.attributes['req.headers.host']).toBe('h');
    expect(e.attributes['res.statusCode']).toBe(500);
    expect(Object.values(e.attributes).every((v) => v === null || typeof v !== 'object')).toBe(true);
  });

  it('flattens nested values inside attributes too; arrays become JSON strings', () => {
    expect(ok({ message: 'x', attributes: { a: { b: { c: 1 } }, tags: ['p', 'q'], e: {} } }).attributes).toEqual({ 'a.b.c': 1, tags: '["p","q"]', e: '{}' });
  });

  it('a flat field wins over a dotted key of the same name', () => {
    expect(ok({ message: 'x', 'a.b': 'flat', a: { b: 'nested', c: 2 } }).attributes).toEqual({ 'a.b': 'flat', 'a.c': 2 });
  });

  it('keeps an object that does not fit the attribute limit as one JSON string', () => {
    const big = Object.fromEntries(Array.from({ length: MAX_ATTRIBUTES }, (_, i) => [`k${i}`, i]));
    const e = ok({ message: 'x', small: { a: 1, b: 2 }, big, flat: 'y' });
    expect(e.attributes).toEqual({ 'small.a': 1, 'small.b': 2, big: JSON.stringify(big), flat: 'y' });
    // What fits fits exactly: 61 top-level fields + an object of 3 leaves = 64 attributes.
    const fields = Object.fromEntries(Array.from({ length: MAX_ATTRIBUTES - 3 }, (_, i) => [`f${i}`, i]));
    expect(Object.keys(ok({ message: 'x', ...fields, o: { a: 1, b: 2, c: 3 } }).attributes)).toHaveLength(MAX_ATTRIBUTES);
    expect(ok({ message: 'x', ...fields, o: { a: 1, b: 2, c: 3, d: 4 } }).attributes.o).toBe('{"a":1,"b":2,"c":3,"d":4}');
  });

  it('keeps an object nested too deep or with a too-long key as one JSON string', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < MAX_FLATTEN_DEPTH + 1; i++) deep = { d: deep };
    expect(ok({ message: 'x', deep }).attributes).toEqual({ deep: JSON.stringify(deep) });
    let fits: unknown = 'leaf';
    for (let i = 0; i < MAX_FLATTEN_DEPTH; i++) fits = { d: fits };
    expect(ok({ message: 'x', fits }).attributes).toEqual({ [`fits${'.d'.repeat(MAX_FLATTEN_DEPTH)}`]: 'leaf' });
    expect(ok({ message: 'x', o: { ['k'.repeat(200)]: 1 } }).attributes).toEqual({ o: JSON.stringify({ ['k'.repeat(200)]: 1 }) });
  });

  it('a "__proto__" key stays data', () => {
    const e = ok(JSON.parse('{"message":"x","o":{"__proto__":{"polluted":1}}}'));
    expect(e.attributes['o.__proto__.polluted']).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('still refuses more than 64 top-level fields', () => {
    const fields = Object.fromEntries(Array.from({ length: MAX_ATTRIBUTES + 1 }, (_, i) => [`f${i}`, { a: i }]));
    expect(parseEvent({ message: 'x', ...fields }).ok).toBe(false);
  });
});

describe('shipper tokens', () => {
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  it('reads Bearer, basic auth (password, else user) and ApiKey', () => {
    expect(presentedToken('Bearer abc')).toBe('abc');
    expect(presentedToken(basic('loki:abc'))).toBe('abc');
    expect(presentedToken(basic('abc:'))).toBe('abc');
    expect(presentedToken(basic('user:pa:ss'))).toBe('pa:ss');
    expect(presentedToken(`ApiKey ${Buffer.from('id:abc').toString('base64')}`)).toBe('abc');
    expect(presentedToken('ApiKey abc')).toBe('abc');
    expect(presentedToken('Basic abc')).toBeUndefined(); // not base64 of user:password
    expect(presentedToken('', 'q')).toBe('q');
  });
});
