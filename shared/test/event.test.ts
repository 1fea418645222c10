import { describe, expect, it } from 'vitest';
import { MAX_BATCH_EVENTS, parseBatch, parseEvent } from '../src/event.js';

describe('event validation', () => {
  it('accepts a full event and normalizes level and timestamp', () => {
    const r = parseEvent({ message: 'GET /api 200 12ms', level: 'warn', service: 'api', timestamp: '2026-11-26T18:00:00.000Z', attributes: { host: 'web-1', status: 200, ok: true, none: null } });
    expect(r).toEqual({ ok: true, event: { message: 'GET /api 200 12ms', level: 40, service: 'api', ts: Date.parse('2026-11-26T18:00:00.000Z'), attributes: { host: 'web-1', status: 200, ok: true, none: null } } });
  });

  it('applies the defaults: level info, service default, no timestamp (the producer stamps it)', () => {
    expect(parseEvent({ message: 'x' })).toEqual({ ok: true, event: { message: 'x', level: 30, service: 'default', ts: undefined, attributes: {} } });
  });

  it('accepts pino lines as they are', () => {
    const line = { level: 50, time: 1764180000000, pid: 42, hostname: 'web-1', msg: 'boom', err: { type: 'Error', message: 'x' }, reqId: 'r1' };
    const r = parseEvent(line);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event.message).toBe('boom');
    expect(r.event.level).toBe(50);
    expect(r.event.ts).toBe(1764180000000);
    expect(r.event.attributes).toEqual({ pid: 42, hostname: 'web-1', 'err.type': 'Error', 'err.message': 'x', reqId: 'r1' });
  });

  it.each([
    [{ level: 'info' }, 'message', 'message is required'],
    [{ message: '' }, 'message', 'empty'],
    [{ message: 5 }, 'message', 'string'],
    [{ message: 'x'.repeat(64 * 1024 + 1) }, 'message', 'bytes'],
    [{ message: 'a\u0000b' }, 'message', 'NUL'],
    [{ message: 'x', level: 'loud' }, 'level', 'unknown level'],
    [{ message: 'x', level: -5 }, 'level', 'unknown level'],
    [{ message: 'x', level: 35.5 }, 'level', 'unknown level'],
    // `in` would find these on Object.prototype (found by the property test in parsers.property.test.ts).
    [{ message: 'x', level: '__proto__' }, 'level', 'unknown level'],
    [{ message: 'x', level: 'toString' }, 'level', 'unknown level'],
    [{ message: 'x', service: 'has space' }, 'service', 'service must be'],
    [{ message: 'x', service: 'a'.repeat(65) }, 'service', 'service must be'],
    [{ message: 'x', timestamp: 'yesterday' }, 'timestamp', 'RFC 3339'],
    [{ message: 'x', timestamp: 8.64e15 }, 'timestamp', 'out of range'],
    [{ message: 'x', timestamp: '3026-01-01T00:00:00Z' }, 'timestamp', 'out of range'],
    [{ message: 'x', attributes: { k: 'x'.repeat(64 * 1024 + 1) } }, 'attributes.k', 'too long'],
    [{ message: 'x', attributes: [1, 2] }, 'attributes', 'object'],
  ])('rejects %j at %s', (raw, path, text) => {
    const r = parseEvent(raw);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]!.path).toBe(path);
    expect(r.issues[0]!.message).toContain(text);
  });

  it('limits attributes to 64 keys', () => {
    const attributes = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
    expect(parseEvent({ message: 'x', attributes }).ok).toBe(false);
    delete (attributes as Record<string, number>).k64;
    expect(parseEvent({ message: 'x', attributes }).ok).toBe(true);
  });

  it('rejects non-objects', () => {
    for (const raw of [null, 'text', 3, [1]]) expect(parseEvent(raw).ok).toBe(false);
  });

  it('validates a batch all or nothing, reporting the index of each bad event', () => {
    const r = parseBatch([{ message: 'a' }, { message: 'b', level: 'nope' }, { message: 'c' }, {}]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.index)).toEqual([1, 3]);
    const good = parseBatch(Array.from({ length: MAX_BATCH_EVENTS }, (_, i) => ({ message: `m${i}` })));
    expect(good.ok && good.events.length).toBe(MAX_BATCH_EVENTS);
  });
});
