// A cap on the connections of one service (issue 11 point 5): ~20,000 sockets used to reach the process's
// file-descriptor limit, after which /health and /logs timed out for everyone. Over MAX_CONNECTIONS a new WebSocket
// is closed at once with 1013 "try again later" and the open ones carry on; the fd limit is checked at start-up so
// that the cap is reached before the limit is. HTTP keep-alive sockets cannot be counted one by one (uWS 20.30 has
// no HTTP open/close hook and no remote port), so the process's descriptors are: beyond those it holds just
// before it listens, they are connections, and HTTP requests are refused while they exceed the cap (http-cap.ts).
import { readFileSync } from 'node:fs';
import { prom } from './metrics.js';
import { FD_SAMPLE_MS, openFdCounter, type FdCount } from './open-fds.js';
import type { WebSocket } from './uws.js';

/** Close code for "over capacity, try again later" (RFC 6455 registry: 1013 Try Again Later). */
export const CLOSE_TRY_AGAIN_LATER = 1013;
export const DEFAULT_MAX_CONNECTIONS = 16_384;
/**
 * File descriptors kept beyond the cap: the service's own (PostgreSQL and Redis connections, listen sockets, files)
 * and the sockets accepted but not judged yet (uWS accepts every connection; see full()). The cap plus this must
 * fit under the soft RLIMIT_NOFILE (Node raises the soft limit to the hard one at start-up).
 */
export const FD_RESERVE = 1_024;
/**
 * Descriptors a service opens after it is counted (just before it listens) besides its clients' sockets, allowed
 * for in the count: its listen sockets (the producer's 3 more for OTLP and syslog), the gateway's PostgreSQL pools
 * growing to 10 connections on demand, a Redis or LISTEN reconnect overlapping its old socket. Client sockets can
 * therefore reach MAX_CONNECTIONS + LATER_FDS while those are not open.
 */
export const LATER_FDS = 16;

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

/** Open WebSockets of a service, across its routes, and its connections of every kind as descriptors. */
export class ConnectionCap {
  private readonly admitted = new WeakSet<object>();
  private openCount = 0;
  private fds?: FdCount;
  /** Requests and WebSockets that may still be admitted without a count (see full()). */
  private uncounted = 0;
  /** Descriptors above which the service holds more than MAX_CONNECTIONS connections. */
  ceiling = Infinity;
  /** WebSockets closed with 1013. */
  refused = 0;
  /** HTTP requests answered 503 over_capacity (http-cap.ts). */
  httpRefused = 0;
  /** Plain TCP connections (the producer's syslog port) closed at once. */
  tcpRefused = 0;

  constructor(readonly max: number) {}

  get open(): number {
    return this.openCount;
  }

  /**
   * Just before listening: the descriptors held now are the service's own (stdio, the event loop, Redis and
   * PostgreSQL connections); from here on more than `max` + LATER_FDS beyond them are too many connections.
   */
  countDescriptors(fds: FdCount): void {
    this.fds = fds;
    this.ceiling = fds() + LATER_FDS + this.max;
  }

  /**
   * More connections than the cap, counted as descriptors (the asking socket among them); false until counted.
   * Each admitted request or WebSocket adds at most one lasting socket (the asking one, already in the count), so
   * after a count of n the next ceiling - n are admitted without counting again and the bound still holds: the count
   * runs once in 15,000 requests at 1,000 connections under the default cap, and at each one near the cap.
   */
  full(): boolean {
    if (this.fds === undefined) return false;
    if (this.uncounted > 0) {
      this.uncounted--;
      return false;
    }
    const inUse = this.fds();
    this.uncounted = Math.max(0, this.ceiling - inUse);
    return inUse > this.ceiling;
  }

  /** In a route's `open` handler: count the socket, or close it with 1013 and return false (do nothing else then). */
  admit(ws: WebSocket<unknown>): boolean {
    if (this.openCount >= this.max || this.full()) {
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
 * Just before listening: count connections as descriptors from now on, saying how in one start-up line (where /proc is
 * missing, HTTP connections are not counted, and the line says that instead).
 */
export function countConnections(cap: ConnectionCap, log: { info: (obj: object, msg: string) => void; warn: (msg: string) => void }): void {
  const counter = openFdCounter();
  if (!counter) {
    log.warn('no /proc/self/fd: HTTP connections are not counted against MAX_CONNECTIONS (WebSockets still are)');
    return;
  }
  cap.countDescriptors(counter.count);
  const how = counter.exact ? 'counted from /proc/self/fd' : `sampled every ${FD_SAMPLE_MS} ms (Linux < 6.2)`;
  log.info({ maxConnections: cap.max, fdCeiling: cap.ceiling }, `connections capped at MAX_CONNECTIONS=${cap.max}: over ${cap.ceiling} open descriptors (${how}) HTTP requests are answered 503 and new WebSockets closed with 1013`);
}

/**
 * `logstream_connections_refused_total{transport}` on `registry` (its `service` label says whose cap), read from the
 * cap at each scrape: refusals over MAX_CONNECTIONS were visible only to the refused clients (issue 11).
 * `transport="websocket"` counts what the series without the label counted before; `transport="http"` the requests,
 * `transport="tcp"` the syslog TCP connections.
 */
export function registerCapMetrics(registry: prom.Registry, cap: ConnectionCap): void {
  new prom.Counter({
    name: 'logstream_connections_refused_total',
    help: 'Refusals over MAX_CONNECTIONS: WebSockets closed at once with 1013, HTTP requests answered 503 over_capacity, TCP connections closed',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ transport: 'websocket' }, cap.refused);
      this.inc({ transport: 'http' }, cap.httpRefused);
      this.inc({ transport: 'tcp' }, cap.tcpRefused);
    },
  });
}
