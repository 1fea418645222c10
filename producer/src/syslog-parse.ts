// Syslog messages (issue 14 point 4): RFC 5424 and RFC 3164 (BSD) → raw events, and RFC 6587 TCP framing
// (octet-counted and LF-terminated). The listener is syslog-server.ts.
//
// Mapping: severity → level (0-2 emerg/alert/crit → fatal, 3 err → error, 4 warning → warn, 5-6 notice/info → info,
// 7 debug); APP-NAME (3164: the TAG) → service; hostname, procid, msgid and facility (by name) → attributes;
// structured data [id k="v"] → attributes "id.k"; TIMESTAMP → timestamp (3164 has no year or zone: this year,
// the producer's zone).

/** Severity 0..7 → level number. */
const SEVERITY_LEVEL = [60, 60, 60, 50, 40, 30, 30, 20];
const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'security', 'console', 'solaris-cron', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export class SyslogError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

const nil = (s: string | undefined) => (s === undefined || s === '-' ? undefined : s);

/**
 * `__proto__` as an element id or parameter name: assigned to an object it sets the prototype instead (a string is
 * ignored), so the value was silently lost. Refused like the attribute name `__proto__` of POST /send (400 there;
 * syslog has no answer, so the message is dropped and counted as invalid).
 */
const protoName = (what: string) => new SyslogError('invalid', `structured data ${what}: the name __proto__ cannot be stored as an attribute; rename it`);

/** `[id k="v" k2="v\"2"][id2 …]` at the start of `s` → the parsed elements and the rest of the text. */
function structuredData(s: string): { sd: Record<string, Record<string, string>>; rest: string } {
  const sd: Record<string, Record<string, string>> = {};
  let i = 0;
  let nextSlash = -1;
  while (s[i] === '[') {
    // Scanned from i, never from a slice: many elements in one message stay linear.
    let idEnd = i + 1;
    while (idEnd < s.length && s[idEnd] !== ' ' && s[idEnd] !== ']') idEnd++;
    if (idEnd >= s.length) throw new SyslogError('invalid', 'unterminated structured data');
    const id = s.slice(i + 1, idEnd);
    if (id === '__proto__') throw protoName(`element [${id}]`);
    i = idEnd;
    const params: Record<string, string> = {};
    for (;;) {
      while (s[i] === ' ') i++;
      if (s[i] === ']') {
        i++;
        break;
      }
      const eq = s.indexOf('="', i);
      if (eq < 0) throw new SyslogError('invalid', `structured data element [${id}] is malformed`);
      const name = s.slice(i, eq);
      if (name === '__proto__') throw protoName(`parameter ${name} of [${id}]`);
      let j = eq + 2;
      let value: string;
      const close = s.indexOf('"', j);
      // The next backslash, searched again only once passed: linear however many parameters a message has.
      if (nextSlash < j) nextSlash = s.indexOf('\\', j) >>> 0;
      if (close >= 0 && nextSlash > close) {
        // No escape in the value (the usual case): one slice, no parts to join.
        value = s.slice(j, close);
        j = close;
      } else {
        const parts: string[] = [];
        let from = j;
        while (j < s.length && s[j] !== '"') {
          if (s[j] === '\\' && j + 1 < s.length) {
            parts.push(s.slice(from, j));
            j++;
            from = j;
          }
          j++;
        }
        parts.push(s.slice(from, j));
        value = parts.join('');
      }
      if (j >= s.length) throw new SyslogError('invalid', `structured data element [${id}] is not terminated`);
      params[name] = value;
      i = j + 1;
    }
    const earlier = sd[id];
    // An element's own object unless its id repeats: a spread copy is off V8's usual shapes and slow to read.
    sd[id] = earlier === undefined ? params : { ...earlier, ...params };
  }
  return { sd, rest: s.slice(i) };
}

/** The 3164 timestamp "Nov 26 18:00:00" as epoch ms: this year (last year when that would be over a day ahead). */
function bsdTime(month: string, day: string, time: string, now = new Date()): number | undefined {
  const m = MONTHS.indexOf(month);
  const [h, min, sec] = time.split(':').map(Number);
  if (m < 0 || h === undefined || min === undefined || sec === undefined) return undefined;
  let d = new Date(now.getFullYear(), m, Number(day), h, min, sec);
  if (d.getTime() > now.getTime() + 86_400_000) d = new Date(now.getFullYear() - 1, m, Number(day), h, min, sec);
  return Number.isFinite(d.getTime()) ? d.getTime() : undefined;
}

const RFC5424 = /^(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) ?/;
const RFC3164 = /^([A-Z][a-z]{2}) ([ \d]\d) (\d{2}:\d{2}:\d{2}) (?:(\S+) )?/;
const TAG = /^([^\s:[\]]{1,48})(?:\[([^\]]{1,128})\])?: ?/;

/** One syslog message (without framing) → a raw event. Throws SyslogError when it is not one. */
export function parseSyslog(line: string): Record<string, unknown> {
  const pri = /^<(\d{1,3})>/.exec(line);
  if (!pri || Number(pri[1]) > 191) throw new SyslogError('no_pri', 'a syslog message starts with <PRI>, 0 to 191');
  const value = Number(pri[1]);
  const attributes: Record<string, unknown> = { facility: FACILITIES[value >> 3] ?? String(value >> 3) };
  const event: Record<string, unknown> = { level: SEVERITY_LEVEL[value & 7] };
  let rest = line.slice(pri[0].length);
  const v5424 = RFC5424.exec(rest);
  if (v5424 && v5424[1] !== '0') {
    const [, , ts, host, app, procid, msgid] = v5424;
    rest = rest.slice(v5424[0].length);
    if (nil(ts)) {
      const ms = Date.parse(ts!);
      if (!Number.isFinite(ms)) throw new SyslogError('invalid', `timestamp ${JSON.stringify(ts!.slice(0, 40))} is not RFC 3339`);
      event.timestamp = ms;
    }
    if (nil(host)) attributes.hostname = host;
    if (nil(app)) event.service = app;
    if (nil(procid)) attributes.procid = procid;
    if (nil(msgid)) attributes.msgid = msgid;
    if (rest.startsWith('-')) rest = rest.slice(rest[1] === ' ' ? 2 : 1);
    else if (rest.startsWith('[')) {
      const parsed = structuredData(rest);
      for (const id of Object.keys(parsed.sd)) attributes[id] = parsed.sd[id];
      rest = parsed.rest.startsWith(' ') ? parsed.rest.slice(1) : parsed.rest;
    }
    if (rest.startsWith('\uFEFF')) rest = rest.slice(1);
    // rsyslog's RFC 5424 template keeps the space that followed the 3164 tag ("app: msg" → MSG " msg").
    else if (rest.startsWith(' ')) rest = rest.slice(1);
  } else {
    const bsd = RFC3164.exec(rest);
    if (bsd) {
      const ms = bsdTime(bsd[1]!, bsd[2]!.trim(), bsd[3]!);
      if (ms !== undefined) event.timestamp = ms;
      rest = rest.slice(bsd[0].length);
      // "HOSTNAME TAG: msg" — but a message without a hostname ("Nov 26 18:00:00 myapp: hi") must not lose its tag.
      if (bsd[4] !== undefined) {
        if (TAG.test(`${bsd[4]} `) && /[:[]/.test(bsd[4])) rest = `${bsd[4]} ${rest}`;
        else attributes.hostname = bsd[4];
      }
    }
    const tag = TAG.exec(rest);
    if (tag) {
      event.service = tag[1];
      if (tag[2]) attributes.procid = tag[2];
      rest = rest.slice(tag[0].length);
    }
  }
  const last = rest.charCodeAt(rest.length - 1);
  event.message = last === 10 || last === 13 ? rest.replace(/[\r\n]+$/, '') : rest;
  event.attributes = attributes;
  return event;
}

/**
 * RFC 6587 framing of a TCP stream: each frame is either octet-counted ("<length> <message>") or ends with LF.
 * Feed it chunks; it calls `onFrame` with each complete frame, and `onOversize` for a frame over `maxFrame` bytes
 * (which is skipped, not buffered).
 */
export function createFramer(maxFrame: number, onFrame: (frame: Buffer) => void, onOversize: () => void) {
  let buf: Buffer = Buffer.alloc(0);
  let skip = 0; // bytes of an oversized octet-counted frame still to discard
  let skipLine = false; // discarding an oversized LF frame up to its newline
  return {
    push(chunk: Buffer) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length);
        skip -= n;
        chunk = chunk.subarray(n);
      }
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        if (buf.length === 0) return;
        if (skipLine) {
          const nl = buf.indexOf(10);
          if (nl < 0) {
            buf = Buffer.alloc(0);
            return;
          }
          buf = buf.subarray(nl + 1);
          skipLine = false;
          continue;
        }
        const first = buf[0]!;
        if (first === 10 || first === 13 || first === 0) {
          buf = buf.subarray(1);
          continue;
        }
        if (first >= 0x31 && first <= 0x39) {
          const space = buf.indexOf(32);
          const digits = space > 0 && space <= 10 ? buf.subarray(0, space).toString('latin1') : '';
          if (/^\d+$/.test(digits)) {
            const length = Number(digits);
            if (length > maxFrame) {
              onOversize();
              const available = buf.length - space - 1;
              skip = Math.max(0, length - available);
              buf = buf.subarray(Math.min(buf.length, space + 1 + length));
              continue;
            }
            if (buf.length < space + 1 + length) return;
            onFrame(buf.subarray(space + 1, space + 1 + length));
            buf = buf.subarray(space + 1 + length);
            continue;
          }
          if (space < 0 && buf.length <= 10) return; // the length may still be arriving
        }
        const nl = buf.indexOf(10);
        if (nl < 0) {
          if (buf.length > maxFrame) {
            onOversize();
            skipLine = true;
            buf = Buffer.alloc(0);
          }
          return;
        }
        if (nl > maxFrame) onOversize();
        else onFrame(buf.subarray(0, nl));
        buf = buf.subarray(nl + 1);
      }
    },
  };
}
