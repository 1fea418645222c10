// The LISTEN connection (pg-listen) on its own client. pg-listen gives up after 3 s by default (retryTimeout):
// here it retries forever with capped backoff, and every (re)connect triggers a catch-up query, because NOTIFYs
// sent while the connection was down are gone.
import * as pgListen from 'pg-listen';
import type { Options, Subscriber } from 'pg-listen';
import type pg from 'pg';
import type { Logger } from '@logstream/shared/logger.js';
import { Backoff, backoffDelay, SERVICE_RECONNECT } from '@logstream/shared/backoff.js';

// pg-listen is CommonJS with `exports.default`.
type CreateSubscriber = (c: pg.ClientConfig, o: Options) => Subscriber;
const pgListenModule = pgListen as unknown as { default: CreateSubscriber | { default: CreateSubscriber } };
const createSubscriber: CreateSubscriber =
  typeof pgListenModule.default === 'function' ? pgListenModule.default : pgListenModule.default.default;

/** application_name of the gateway's LISTEN connection. */
export const LISTEN_APPLICATION_NAME = 'logstream-gateway-listen';

export interface NotificationSource {
  connected(): boolean;
  /** Resolves once LISTEN first succeeded (or the source was closed before). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Start listening; the first connect is retried in the background until it succeeds (ready()). */
export function listenForRows(
  connection: pg.ClientConfig,
  channel: string,
  log: Logger,
  handlers: { onNotify: () => void; onConnected: (reconnect: boolean) => void },
): NotificationSource {
  let isConnected = false;
  let closing = false;
  let everConnected = false;
  let subscriber: Subscriber | undefined;

  const make = () => {
    // Named, so that an operator (and a test) finds this backend in pg_stat_activity: its last query is LISTEN only
    // until pg-listen's first 10 s paranoid check (SELECT pg_backend_pid()), which the loki-compat tail test's lookup
    // by query text then missed on a loaded machine.
    const s = createSubscriber({ ...connection, application_name: LISTEN_APPLICATION_NAME }, {
      retryTimeout: 0, // 0 = never stop retrying
      retryLimit: Infinity,
      retryInterval: (attempt: number) => backoffDelay(attempt, SERVICE_RECONNECT),
      paranoidChecking: 10_000, // notice a silently dead connection within 10 s
      parse: (payload: string) => payload,
    });
    s.notifications.on(channel, handlers.onNotify);
    s.events.on('connected', () => {
      // The first 'connected' comes before LISTEN is issued; that case is reported after listenTo below.
      if (!everConnected) return;
      isConnected = true;
      log.info({ channel }, 'LISTEN reconnected');
      handlers.onConnected(true);
    });
    s.events.on('reconnect', (attempt: number) => {
      if (isConnected || attempt % 20 === 1) log.warn({ attempt }, 'LISTEN connection lost; reconnecting');
      isConnected = false;
    });
    s.events.on('error', (err: Error) => {
      isConnected = false;
      log.warn({ err: err.message }, 'LISTEN connection error');
    });
    return s;
  };

  // The first connect is retried here; later losses are retried by pg-listen itself.
  const backoff = new Backoff(SERVICE_RECONNECT);
  const connectFirst = async () => {
    while (!closing) {
      const s = make();
      subscriber = s;
      try {
        await s.connect();
        await s.listenTo(channel);
        isConnected = true;
        everConnected = true;
        log.info({ channel }, 'LISTEN connected');
        handlers.onConnected(false);
        return;
      } catch (err) {
        isConnected = false;
        await s.close().catch(() => {});
        if (backoff.attempts % 10 === 0) log.warn({ err: (err as Error).message }, 'cannot LISTEN yet; retrying');
        await backoff.wait();
      }
    }
  };
  const first = connectFirst();
  return {
    connected: () => isConnected,
    ready: () => first,
    close: async () => {
      closing = true;
      await subscriber?.close().catch(() => {});
    },
  };
}
