// The life of one connection (a Redis client, a PostgreSQL pool), shared by the connection objects of redis.ts and
// db.ts: connecting → ready → reconnecting → ready … → closed, each change logged once (issue 13 point 5). An outage
// is two lines (lost, back after N ms), not one per retry; an error that is not about the connection (a wrong
// password, a server that refuses us for a reason) is logged as an error, once per distinct message, instead of
// being retried quietly forever.
import { isConnectionError } from './errors.js';
import type { Logger } from './logger.js';

export type ConnectionState = 'connecting' | 'ready' | 'reconnecting' | 'closed';

export class ConnectionStateLog {
  private current: ConnectionState = 'connecting';
  private lostAt = 0;
  private lastError: string | undefined;
  private reported = new Set<string>();

  constructor(
    private readonly log: Logger,
    /** Names the connection in each line: `redis`, `redis reader`, `postgres reads`. */
    private readonly name: string,
  ) {
    log.info({ connection: name }, `${name}: connecting`);
  }

  get state(): ConnectionState {
    return this.current;
  }

  ready(): void {
    if (this.current === 'ready' || this.current === 'closed') return;
    if (this.current === 'reconnecting') this.log.info({ connection: this.name, downMs: Date.now() - this.lostAt }, `${this.name}: reconnected`);
    else this.log.info({ connection: this.name }, `${this.name}: ready`);
    this.current = 'ready';
    this.lastError = undefined;
    this.reported.clear();
  }

  /** The connection was lost (or a probe failed): from ready only; while connecting it stays connecting. */
  lost(err?: unknown): void {
    if (this.current !== 'ready') return;
    this.current = 'reconnecting';
    this.lostAt = Date.now();
    this.log.warn({ connection: this.name, err: err instanceof Error ? err.message : this.lastError }, `${this.name}: connection lost; reconnecting`);
  }

  closed(): void {
    if (this.current === 'closed') return;
    this.current = 'closed';
    this.log.info({ connection: this.name }, `${this.name}: closed`);
  }

  /** An error event: connection errors are the reconnect's business (kept for the next line); others are reported. */
  error(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (isConnectionError(err)) {
      this.lastError = message;
      return;
    }
    if (this.reported.has(message) || this.reported.size >= 100) return;
    this.reported.add(message);
    this.log.error({ connection: this.name, err }, `${this.name}: ${message}`);
  }
}
