// A cap on the WebSocket connections of one service (issue 11 point 5): ~20,000 sockets used to reach the process's
// file-descriptor limit, after which /health and /logs timed out for everyone. Over MAX_CONNECTIONS a new socket is
// closed at once with 1013 "try again later" and the open ones carry on; the fd limit is checked at start-up so
// that the cap is reached before the limit is. Plain HTTP connections are not counted: uWS closes an idle one after
// 10 s (measured: 100 idle sockets all closed after 12 s), and the fd reserve below is theirs.
import { readFileSync } from 'node:fs';
import { prom } from './metrics.js';
import type { WebSocket } from './uws.js';

/** Close code for "over capacity, try again later" (RFC 6455 registry: 1013 Try Again Later). */
export const CLOSE_TRY_AGAIN_LATER = 1013;
export const DEFAULT_MAX_CONNECTIONS = 16_384;
/**
 * File descriptors kept beyond the cap: PostgreSQL and Redis connections, HTTP keep-alive sockets, files. The cap
 * plus this must fit under the soft RLIMIT_NOFILE (Node raises the soft limit to the hard one at start-up).
 */
export const FD_RESERVE = 1_024;

/** The soft and hard open-files limits of this process, from /proc (Linux); undefined where unknown. */
export function fdLimits(limits = '/proc/self/limits'): { soft: number; hard: number } | undefined {
  try {
    const line = readFileSync(limits, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const m = line && /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(line);
    if (!m) return undefined;
    const n = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    return undefined;
  }
}

export interface CapDecision {
  max: number;
  /** A line for the start-up log when the cap was lowered to fit the fd limit. */
  warning?: string;
  /** Set when the service must not start: MAX_CONNECTIONS was set above what the fd limit allows. */
  error?: string;
}

/** The cap to use: MAX_CONNECTIONS as set, or the default lowered to fit the fd limit; set too high, a refusal. */
export function decideCap(configured: number | undefined, softLimit: number | undefined): CapDecision {
  const max = configured ?? DEFAULT_MAX_CONNECTIONS;
  if (softLimit === undefined || max + FD_RESERVE <= softLimit) return { max };
  const fits = Math.max(0, softLimit - FD_RESERVE);
  const raise = `raise the open-files limit (ulimit -n, LimitNOFILE= in systemd, docker run --ulimit nofile=…) to at least ${max + FD_RESERVE}`;
  if (configured !== undefined) {
    return { max, error: `MAX_CONNECTIONS=${configured} needs ${configured + FD_RESERVE} file descriptors (${FD_RESERVE} kept for PostgreSQL, Redis and HTTP), but the limit is ${softLimit}: ${raise}, or set MAX_CONNECTIONS to at most ${fits}` };
  }
  if (fits < 1) return { max, error: `the open-files limit (${softLimit}) leaves no room for connections after ${FD_RESERVE} reserved: ${raise}` };
  return { max: fits, warning: `the open-files limit is ${softLimit}: MAX_CONNECTIONS lowered from ${max} to ${fits} (${FD_RESERVE} kept for PostgreSQL, Redis and HTTP); ${raise} for more` };
}

/** Open WebSockets of a service, across its routes. */
export class ConnectionCap {
  private readonly admitted = new WeakSet<object>();
  private openCount = 0;
  refused = 0;

  constructor(readonly max: number) {}

  get open(): number {
    return this.openCount;
  }

  /** In a route's `open` handler: count the socket, or close it with 1013 and return false (do nothing else then). */
  admit(ws: WebSocket<unknown>): boolean {
    if (this.openCount >= this.max) {
      this.refused++;
      ws.end(CLOSE_TRY_AGAIN_LATER, `over capacity (MAX_CONNECTIONS=${this.max}); retry later`);
      return false;
    }
    this.openCount++;
    this.admitted.add(ws);
    return true;
  }

  /** In a route's `close` handler; false for a socket that was refused (nothing of it to undo). */
  release(ws: WebSocket<unknown>): boolean {
    if (!this.admitted.delete(ws)) return false;
    this.openCount--;
    return true;
  }
}

/** Start-up: the cap for `service`, logging a lowered one, or exit 1 with one line when it cannot fit. */
export function startupCap(service: string, configured: number | undefined, log: { warn: (msg: string) => void }): ConnectionCap {
  const d = decideCap(configured, fdLimits()?.soft);
  if (d.error) {
    console.error(`${service}: ${d.error}`);
    process.exit(1);
  }
  if (d.warning) log.warn(d.warning);
  return new ConnectionCap(d.max);
}

/**
 * `logstream_connections_refused_total` on `registry` (its `service` label says whose cap), read from the cap at
 * each scrape: refusals over MAX_CONNECTIONS were visible only to the refused clients (issue 11).
 */
export function registerCapMetrics(registry: prom.Registry, cap: ConnectionCap): void {
  new prom.Counter({
    name: 'logstream_connections_refused_total',
    help: 'WebSockets closed at once with 1013 because MAX_CONNECTIONS were open',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cap.refused);
    },
  });
}
