// MONITOR on a raw socket. ioredis's monitor() fails its connection with "Command queue state error" when a
// monitored command arrives in the same read as MONITOR's +OK (producer/test/one-round-trip.test.ts failed so once
// in a full run: the producer's once-a-second INFO came at that moment). Here every +line after the +OK is one
// command, parsed from Redis's quoted form (sdscatrepr: \" \\ \n \r \t \a \b and \xHH).
import { connect } from 'node:net';

export interface MonitoredCommand {
  /** Lower-cased command name. */
  cmd: string;
  /** "lua" for a command a script ran, else the client's address. */
  source: string;
  /** The command and its arguments, as sent. */
  args: string[];
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '"': '"', '\\': '\\' };

/** `"evalsha" "abc" "a \"b\""` → ['evalsha', 'abc', 'a "b"']. */
export function parseMonitorArgs(text: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '"') {
      i++;
      continue;
    }
    let arg = '';
    for (i++; i < text.length && text[i] !== '"'; i++) {
      if (text[i] !== '\\') {
        arg += text[i];
        continue;
      }
      const next = text[++i]!;
      if (next === 'x') {
        arg += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else arg += ESCAPES[next] ?? next;
    }
    args.push(arg);
    i++;
  }
  return args;
}

/** Start MONITOR; resolves once Redis answered +OK. `stop()` closes it and returns what was seen. */
export async function monitorRedis(host: string, port: number): Promise<{ stop(): MonitoredCommand[] }> {
  const seen: MonitoredCommand[] = [];
  const socket = connect({ host, port });
  let buffered = '';
  let ok = false;
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let nl: number;
      while ((nl = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 2);
        if (!ok) {
          if (line !== '+OK') reject(new Error(`MONITOR answered ${line}`));
          ok = true;
          resolve();
          continue;
        }
        // +1796146635.368928 [0 127.0.0.1:56132] "info"
        const m = /^\+[\d.]+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
        if (!m) continue;
        const args = parseMonitorArgs(m[2]!);
        seen.push({ cmd: (args[0] ?? '').toLowerCase(), source: m[1]!, args });
      }
    });
    socket.write('MONITOR\r\n');
  });
  return {
    stop() {
      socket.destroy();
      return seen;
    },
  };
}
