// The syslog fast path of validation (syslog-event.ts) against the shared validation (parseEvent): for every
// message, generated near each limit, the same answer, the same event (key order included), and a fast path
// that is really taken for plain messages and really left for the others.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_ATTRIBUTE_KEY_CHARS, MAX_ATTRIBUTES, MAX_MESSAGE_BYTES, parseEvent } from '@logstream/shared/event.js';
import { serviceName } from '../src/shipper-fields.js';
import { plainlyValid, validateSyslog } from '../src/syslog-event.js';
import { parseSyslog, SyslogError } from '../src/syslog-parse.js';

const HOUR = 3_600_000;
/** Printable ASCII, a NUL, a few non-ASCII characters, and the characters the parser splits on. */
const char = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom(...'abcXYZ09_.:-@/'.split('')) },
  { weight: 2, arbitrary: fc.constantFrom('\u0000', 'é', '€', '\u{1F600}', '\uFEFF', '"', '\\', ']', '[', '=', ' ', '\n') },
);
const text = (maxLength: number) => fc.array(char, { maxLength }).map((cs) => cs.join(''));
const token = fc.oneof(fc.constant('-'), text(12).filter((s) => s.length > 0 && !/\s/.test(s)), fc.constantFrom('x'.repeat(70), '__proto__', 'constructor'));
const timestamp = fc.oneof(
  fc.constant('-'),
  fc.integer({ min: -20 * 24, max: 23 }).map((h) => new Date(Date.now() + h * HOUR).toISOString()),
  fc.integer({ min: 25, max: 1000 }).map((h) => new Date(Date.now() + h * HOUR).toISOString()), // over a day ahead
  fc.constantFrom('1969-12-31T23:59:59Z', '2025-13-45T99:99:99Z', '2026-11-26T18:00:00.123456+01:00', 'yesterday'),
);
const sdName = fc.oneof({ weight: 5, arbitrary: fc.constantFrom('a', 'status', 'duration_ms', 'b.c', 'facility', 'hostname') }, fc.constantFrom('__proto__', 'constructor', 'k'.repeat(127), ''), text(6).filter((s) => !/[\s="\]]/.test(s)));
const sdValue = fc.oneof({ weight: 5, arbitrary: text(20) }, fc.constantFrom('x'.repeat(MAX_MESSAGE_BYTES), 'x'.repeat(MAX_MESSAGE_BYTES + 1)));
const escaped = (v: string) => v.replace(/[\\"\]]/g, (c) => `\\${c}`);
const sdElement = fc
  .record({
    id: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('bench@32473', 'origin', 'meta', 'hostname') }, fc.constantFrom('__proto__', 'x'.repeat(130)), text(8).filter((s) => s.length > 0 && !/[\s\]]/.test(s))),
    params: fc.oneof({ weight: 5, arbitrary: fc.array(fc.tuple(sdName, sdValue), { maxLength: 4 }) }, fc.array(fc.tuple(fc.nat(99).map((n) => `p${n}`), fc.constant<string>('v')), { minLength: MAX_ATTRIBUTES - 4, maxLength: MAX_ATTRIBUTES + 4 })),
  })
  .map(({ id, params }) => `[${id}${params.map(([k, v]) => ` ${k}="${escaped(v)}"`).join('')}]`);
const sd = fc.oneof(fc.constant('-'), fc.array(sdElement, { minLength: 1, maxLength: 3 }).map((es) => es.join('')));
const message = fc.oneof(
  { weight: 10, arbitrary: text(40) },
  fc.constantFrom('', '\uFEFFbom', ' lead', 'trail\r\n', 'é'.repeat(MAX_MESSAGE_BYTES / 2), 'é'.repeat(MAX_MESSAGE_BYTES / 2 + 1), 'a'.repeat(MAX_MESSAGE_BYTES + 1)),
);
const pri = fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 0, max: 191 }) }, fc.integer({ min: 192, max: 999 }));
const rfc5424 = fc.tuple(pri, timestamp, token, token, token, token, sd, message).map(([p, ts, host, app, procid, msgid, s, m]) => `<${p}>1 ${ts} ${host} ${app} ${procid} ${msgid} ${s} ${m}`);
const bsdDate = fc.tuple(fc.constantFrom('Jan', 'Feb', 'Nov', 'Dec', 'Foo'), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 25 })).map(([mon, d, h]) => `${mon} ${String(d).padStart(2, ' ')} ${String(h).padStart(2, '0')}:04:05`);
const rfc3164 = fc.tuple(pri, bsdDate, fc.option(token), fc.option(fc.tuple(token, fc.option(text(5)))), message).map(([p, date, host, tag, m]) => `<${p}>${date} ${host ? `${host} ` : ''}${tag ? `${tag[0]}${tag[1] !== null ? `[${tag[1]}]` : ''}: ` : ''}${m}`);
const line = fc.oneof({ weight: 6, arbitrary: rfc5424 }, { weight: 3, arbitrary: rfc3164 }, fc.string());

/** What syslog-server.ts hands validation. */
function raw(l: string): Record<string, unknown> | undefined {
  try {
    const r = parseSyslog(l);
    if (typeof r.service === 'string') r.service = serviceName(r.service);
    return r;
  } catch (err) {
    if (err instanceof SyslogError) return undefined;
    throw err;
  }
}

describe('syslog validation fast path', () => {
  it('gives what parseEvent gives, for every message', () => {
    let fast = 0;
    let slow = 0;
    fc.assert(
      fc.property(line, (l) => {
        const r = raw(l);
        if (!r) return;
        const expected = parseEvent(r);
        const got = validateSyslog(r);
        expect(got).toStrictEqual(expected);
        if (got.ok && expected.ok) expect(JSON.stringify(got.event)).toBe(JSON.stringify(expected.event));
        if (plainlyValid(r)) fast++;
        else slow++;
      }),
      { numRuns: 3000 },
    );
    // Both branches exercised: most generated messages are plain, a good share are not.
    expect(fast).toBeGreaterThan(500);
    expect(slow).toBeGreaterThan(300);
  });

  it('takes the fast path for the bench and the daemons shape, and leaves it at each limit', () => {
    const plain = [
      `<134>1 ${new Date().toISOString()} web-1 api 4242 - [bench@32473 status="200" duration_ms="5"] GET /x 200`,
      '<30>Nov 26 18:00:00 web-1 sshd[42]: Accepted publickey',
      // An element too big to flatten is kept as one JSON string (flatten-attributes.ts): valid, and plain.
      `<134>1 - h app - - [x ${Array.from({ length: MAX_ATTRIBUTES }, (_, i) => `p${i}="v"`).join(' ')}] kept whole`,
    ];
    for (const l of plain) {
      const r = raw(l)!;
      const expected = parseEvent(r);
      expect(expected.ok).toBe(true);
      expect(plainlyValid(r)).toStrictEqual((expected as { event: unknown }).event);
    }
    const leaves = [
      `<134>1 - h app - - - `, // empty message
      `<134>1 - h app - - - a\u0000b`,
      `<134>1 ${new Date(Date.now() + 25 * HOUR).toISOString()} h app - - - future`,
      `<134>1 - h app - - ${Array.from({ length: MAX_ATTRIBUTES }, (_, i) => `[e${i} a="v"]`).join('')} too many attributes`,
      `<134>1 - h app - - [${'x'.repeat(MAX_ATTRIBUTE_KEY_CHARS + 1)} a="v"] key too long`,
      `<134>1 - h app - - [x a="${'v'.repeat(MAX_MESSAGE_BYTES + 1)}"] value too long`,
      `<134>1 - h app - - - ${'é'.repeat(MAX_MESSAGE_BYTES / 2 + 1)}`,
    ];
    const rs = leaves.map((l) => raw(l)!);
    // parseSyslog never makes an own "__proto__" attribute, but validateSyslog must not take one for any caller.
    rs.push(JSON.parse('{"message":"m","level":30,"attributes":{"__proto__":"x"}}') as Record<string, unknown>);
    rs.push({ message: 'm', level: 35, attributes: {} }, { message: 'm', level: 30, service: 'a b', attributes: {} }, { message: 'm', level: 30, attributes: { n: 1 } });
    for (const r of rs) {
      expect(plainlyValid(r), JSON.stringify(r).slice(0, 80)).toBeUndefined();
      expect(validateSyslog(r)).toStrictEqual(parseEvent(r));
    }
  });
});
