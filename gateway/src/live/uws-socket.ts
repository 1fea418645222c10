// The uWS side of WebSocket /live (CONTRACT §6), and nothing else: the upgrade (token, query-string subscription),
// client frames, and each socket's events handed to the live core (subscriptions.ts). Also the connection-capped
// WebSocket route that /live and the Loki tail share.
import { presentedToken, tokenAllowed } from '@logstream/shared/auth.js';
import type { ConnectionCap } from '@logstream/shared/connection-cap.js';
import { badRequest, HttpError } from '@logstream/shared/errors.js';
import { attrParams, errorFrame, parseFilter, subscribeSchema, type Filter } from '@logstream/shared/protocol.js';
import { decodeUtf8, parseQuery, statusLine, type TemplatedApp, type WebSocket, type WebSocketBehavior } from '@logstream/shared/uws.js';
import type { GatewayConfig } from '../config.js';
import { parseRowId } from '../logs-query.js';
import type { GatewayMetrics } from '../metrics.js';
import type { Outlet, Subscriber } from './subscriber.js';
import type { LiveSubscriptions } from './subscriptions.js';

/** Largest client frame answered (a subscribe frame is a few hundred bytes); larger ones get a bad_frame error. */
const MAX_FRAME_BYTES = 64 * 1024;

/** User data of every capped socket: set once the socket is closed (or refused), after which uWS forbids using it. */
export interface CappedData {
  closed: boolean;
}

/**
 * app.ws(path) for a streaming route: counted against MAX_CONNECTIONS (a socket over the cap is closed with 1013
 * and its own open/close handlers never run), in the logstream_live_connections gauge, pinged, and with uWS's hard
 * send-buffer cap far above the soft limit (LIVE_MAX_BACKPRESSURE): /live takes a slow client off its topic, and
 * the Loki tail stops reading for it, before it has been sent two soft limits' worth past its last check, with
 * frames of at most half the soft limit (or one row), so the cap is never reached in practice; if it were, uWS
 * closes the socket (the client resumes) rather than dropping a row without reporting it.
 */
export function cappedWs<T extends CappedData>(
  app: TemplatedApp,
  path: string,
  d: { cfg: GatewayConfig; cap: ConnectionCap; metrics: GatewayMetrics },
  b: Required<Pick<WebSocketBehavior<T>, 'maxPayloadLength' | 'upgrade' | 'message' | 'drain'>> & { open: (ws: WebSocket<T>) => void; close: (ws: WebSocket<T>) => void },
): void {
  app.ws<T>(path, {
    maxPayloadLength: b.maxPayloadLength,
    maxBackpressure: d.cfg.LIVE_MAX_BACKPRESSURE * 8 + 256 * 1024,
    closeOnBackpressureLimit: true as unknown as number,
    idleTimeout: 60,
    sendPingsAutomatically: true,
    upgrade: b.upgrade,
    open: (ws) => {
      if (!d.cap.admit(ws)) {
        ws.getUserData().closed = true;
        return;
      }
      d.metrics.connections.inc();
      b.open(ws);
    },
    message: (ws, message, isBinary) => {
      if (!ws.getUserData().closed) return b.message(ws, message, isBinary);
    },
    drain: (ws) => {
      if (!ws.getUserData().closed) b.drain(ws);
    },
    close: (ws) => {
      const refused = !d.cap.release(ws);
      ws.getUserData().closed = true;
      if (refused) return;
      d.metrics.connections.dec();
      b.close(ws);
    },
  });
}

interface LiveSocketData extends CappedData {
  /** Set on open; the core's state of this socket. */
  sub?: Subscriber;
  /** The query string's subscription, applied on open, or what is wrong with it. */
  initial: { filter: Filter; since?: number } | { error: string };
}

/** A uWS socket as the core's Outlet. */
class UwsOutlet implements Outlet {
  constructor(private readonly ws: WebSocket<LiveSocketData>) {}
  send(frame: string): void {
    this.ws.send(frame);
  }
  bufferedAmount(): number {
    return this.ws.getBufferedAmount();
  }
  subscribe(topic: string): void {
    this.ws.subscribe(topic);
  }
  unsubscribe(topic: string): void {
    this.ws.unsubscribe(topic);
  }
  end(code: number, reason: string): void {
    this.ws.end(code, reason);
  }
}

/** The query string's filter and `since` (CONTRACT §6), or what is wrong with them. */
function initialSubscription(query: Map<string, string>): LiveSocketData['initial'] {
  const f = parseFilter({ service: query.get('service'), level: query.get('level'), q: query.get('q'), attr: attrParams(query) });
  try {
    const raw = query.get('since');
    const since = raw ? parseRowId(raw, 'since') : undefined;
    return f.ok ? { filter: f.filter, since } : { error: f.message };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** A client frame → the subscription it asks for, or the error frame that answers it. */
function parseClientFrame(message: ArrayBuffer, isBinary: boolean): { filter: Filter; since?: number } | { reply: string } {
  if (isBinary) return { reply: errorFrame('bad_frame', 'binary frames are not supported; send JSON text frames') };
  if (message.byteLength > MAX_FRAME_BYTES) {
    return { reply: errorFrame('bad_frame', `frame of ${message.byteLength} bytes is over the limit of ${MAX_FRAME_BYTES}; a subscribe frame needs a few hundred`) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeUtf8(new Uint8Array(message), 'frame'));
  } catch {
    return { reply: errorFrame('bad_frame', 'frames must be JSON such as {"type":"subscribe","filter":{"level":"warn"},"since":123}') };
  }
  const msg = subscribeSchema.safeParse(parsed);
  if (!msg.success) {
    const issue = msg.error.issues[0];
    return { reply: errorFrame('bad_frame', `unknown or invalid message: expected {"type":"subscribe","filter":{…},"since":<id>}; ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim()) };
  }
  const f = parseFilter(msg.data.filter ?? {});
  if (!f.ok) return { reply: errorFrame('bad_filter', f.message) };
  return { filter: f.filter, since: msg.data.since };
}

export function registerLiveSocket(app: TemplatedApp, d: { cfg: GatewayConfig; cap: ConnectionCap; subscriptions: LiveSubscriptions; metrics: GatewayMetrics }): void {
  const { cfg, subscriptions } = d;
  cappedWs<LiveSocketData>(app, '/live', d, {
    // uWS drops a connection whose frame is over this without a word (1006): twice the limit lets a frame up to that
    // size through to be answered with an error frame on an open connection, as CONTRACT §6 says of a bad frame.
    maxPayloadLength: 2 * MAX_FRAME_BYTES,
    upgrade: (res, req, context) => {
      let query: Map<string, string>;
      try {
        query = parseQuery(req.getQuery());
      } catch (err) {
        // An exception here would escape into uWS: a query that is not UTF-8 is answered 400 (issue 4).
        const e = err instanceof HttpError ? err : badRequest('bad query string');
        res.cork(() => res.writeStatus(statusLine(e.status)).writeHeader('Content-Type', 'application/json').end(JSON.stringify(e)));
        return;
      }
      const token = presentedToken(req.getHeader('authorization'), query.get('token'));
      if (!tokenAllowed(cfg.READ_TOKENS, token)) {
        res.cork(() =>
          res
            .writeStatus('401 Unauthorized')
            .writeHeader('Content-Type', 'application/json')
            .end(JSON.stringify({ error: 'unauthorized', message: 'send "Authorization: Bearer <token>" or ?token=<token>' })),
        );
        return;
      }
      const data: LiveSocketData = { closed: false, initial: initialSubscription(query) };
      res.upgrade(data, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => {
      const data = ws.getUserData();
      const sub = (data.sub = subscriptions.open(new UwsOutlet(ws)));
      const initial = data.initial;
      if ('error' in initial) sub.send(errorFrame('bad_filter', `${initial.error}; send {"type":"subscribe","filter":{…}} to subscribe`));
      else void subscriptions.subscribe(sub, initial.filter, initial.since);
    },
    message: (ws, message, isBinary) => {
      const sub = ws.getUserData().sub!;
      const frame = parseClientFrame(message, isBinary);
      if ('reply' in frame) sub.send(frame.reply);
      else void subscriptions.subscribe(sub, frame.filter, frame.since);
    },
    drain: (ws) => subscriptions.drained(ws.getUserData().sub!),
    close: (ws) => subscriptions.close(ws.getUserData().sub!),
  });
}
