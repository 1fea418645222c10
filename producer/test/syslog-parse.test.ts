// parseSyslog's structured data (issue 14 point 4) at the names JavaScript objects treat specially.
import { describe, expect, it } from 'vitest';
import { parseSyslog, SyslogError } from '../src/syslog-parse.js';

const line = (sd: string) => `<14>1 2026-12-01T10:00:00Z host app 42 ID7 ${sd} hello`;

describe('syslog structured data', () => {
  it('refuses __proto__ as an element id or a parameter name instead of losing it', () => {
    for (const sd of ['[__proto__ a="1"]', '[x __proto__="1"]', '[x a="1"][y __proto__="2"]']) {
      let err: unknown;
      try {
        parseSyslog(line(sd));
      } catch (e) {
        err = e;
      }
      expect(err, sd).toBeInstanceOf(SyslogError);
      expect((err as SyslogError).reason).toBe('invalid');
      expect((err as Error).message).toContain('__proto__');
    }
  });

  it('keeps constructor and prototype as ordinary names, as POST /send does', () => {
    const raw = parseSyslog(line('[constructor prototype="p"][x constructor="c"]')) as { attributes: Record<string, unknown> };
    expect(raw.attributes.constructor).toEqual({ prototype: 'p' });
    expect(raw.attributes.x).toEqual({ constructor: 'c' });
    expect(Object.getPrototypeOf(raw.attributes.x)).toBe(Object.prototype);
  });
});
