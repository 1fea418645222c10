// WebSocket /live (CONTRACT §6): subscribe with a filter and an optional `since`, replay stored rows after it,
// then hand over to live rows with no gap and no duplicate.
import type pg from 'pg';
import { presentedToken, tokenAllowed } from '@logstream/shared/auth.js';
import type { Logger } from '@logstream/shared/logger.js';
import { attrParams, EMPTY_FILTER, errorFrame, parseFilter, PROTOCOL_VERSION, subscribeSchema, type Filter } from '@logstream/shared/protocol.js';
import { badRequest, HttpError } from '@logstream/shared/errors.js';
import { decodeUtf8, parseQuery, statusLine, type TemplatedApp } from '@logstream/shared/uws.js';
import type { GatewayConfig } from '../config.js';
import type { LiveHub, LiveSocket, LiveSocketData } from './hub.js';
import type { GatewayMetrics } from '../metrics.js';
import { splitFrames } from './frames.js';
import { parseRowId } from '../logs-query.js';
import { countMatching, droppedAfter, matchingRows, replaySliceEnd } from './queries.js';
import type { ReadGate } from '../read-gate.js';
import type { ConnectionCap } from '@logstream/shared/connection-cap.js';

/** How long a resuming client waits for this gateway to see its cursor (it may come from a gateway ahead of us). */
const CURSOR_WAIT_MS = 5_000;
/** Largest client frame answered (a subscribe frame is a few hundred bytes); larger ones get a bad_frame error. */
const MAX_FRAME_BYTES = 64 * 1024;

/**
 * `db` is the search pool and `replays` a gate of its own: a replay or a dropped count is an expensive read (issue
 * 11 point 4: 300 `q` + `since=0` subscribes, each a 1.7 s scan, starved every other read). Each reads at most
 * REPLAY_SLICE_ROWS rows per statement and takes the gate per statement, so its cost is bounded, replays take turns,
 * and HTTP searches keep slots of their own.
 */
export function registerLiveSocket(app: TemplatedApp, d: { cfg: GatewayConfig; db: pg.Pool; replays: ReadGate; cap: ConnectionCap; hub: LiveHub; log: Logger; metrics: GatewayMetrics }): void {
  const { cfg, db, replays, cap, hub, log, metrics } = d;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const send = (ws: LiveSocket, frame: string) => {
    if (!ws.getUserData().closed) ws.send(frame);
  };

  /** Replay matching rows in (since, head], then join live — all in one synchronous step at the end. */
  async function subscribe(ws: LiveSocket, filter: Filter, since: number | undefined): Promise<void> {
    const data = ws.getUserData();
    const generation = ++data.generation;
    hub.leave(ws);
    data.filter = filter;
    if (since === undefined) {
      hub.joinLive(ws);
      return;
    }
    data.mode = 'catchup';
    if (since > hub.head && !(await hub.waitForHead(since, CURSOR_WAIT_MS))) {
      if (data.closed || data.generation !== generation) return;
      send(ws, errorFrame('cursor_ahead', `since=${since} is ahead of the newest row (${hub.head}); continuing live from ${hub.head}`));
      hub.joinLive(ws);
      return;
    }
    let cursor = since;
    // Rows after the cursor that retention dropped: say so (issue 15), then replay what is left after them.
    const gone = await droppedAfter(db, since);
    if (data.closed || data.generation !== generation) return;
    if (gone) {
      send(ws, JSON.stringify({ type: 'dropped', count: gone.count, from: gone.from, to: gone.to, reason: 'retention' }));
      cursor = Math.max(cursor, gone.to);
    }
    for (;;) {
      if (data.closed || data.generation !== generation) return;
      const upTo = hub.head;
      const sliceEnd = await replays.run(() => replaySliceEnd(db, cursor, upTo));
      const { rows, more } = await replays.run(() => matchingRows(db, filter, cursor, sliceEnd));
      if (data.closed || data.generation !== generation) return;
      for (const frame of splitFrames(rows, cfg.LIVE_MAX_BACKPRESSURE / 2)) {
        // Replay at the pace the client reads: memory stays bounded for a slow one.
        while (!data.closed && ws.getBufferedAmount() > cfg.LIVE_MAX_BACKPRESSURE) await sleep(20);
        if (data.closed || data.generation !== generation) return;
        send(ws, frame.text);
        cursor = frame.cursor;
        metrics.rowsSent.inc(frame.rows);
      }
      // A page bounded by rows or bytes (page-bytes.ts): the next one starts after the last row sent.
      if (more) continue;
      cursor = Math.max(cursor, sliceEnd);
      if (sliceEnd < upTo) continue;
      // Everything matching up to `upTo` is sent. If the hub has not moved meanwhile, join live now
      // (synchronously: the hub publishes only between awaits); otherwise replay the rest first.
      if (hub.head === upTo) {
        hub.joinLive(ws);
        return;
      }
      cursor = Math.max(cursor, upTo);
    }
  }

  /** A lagging client drained: report what it missed (exactly, by count and id range), then rejoin live. */
  async function recover(ws: LiveSocket): Promise<void> {
    const data = ws.getUserData();
    if (data.mode !== 'lagging') return;
    hub.forgetLagging(ws);
    data.mode = 'catchup';
    const generation = data.generation;
    let from = data.laggingFrom;
    for (;;) {
      const to = hub.head;
      if (to >= from) {
        let count = 0;
        for (let a = from, b = 0; a <= to; a = b + 1) {
          b = await replays.run(() => replaySliceEnd(db, a - 1, to));
          count += await replays.run(() => countMatching(db, data.filter, a, b));
          if (data.closed || data.generation !== generation) return;
        }
        if (data.closed || data.generation !== generation) return;
        if (count > 0) {
          send(ws, JSON.stringify({ type: 'dropped', count, from, to }));
          metrics.rowsDropped.inc(count);
        }
      }
      if (hub.head === to) {
        hub.joinLive(ws);
        return;
      }
      from = to + 1;
    }
  }
  hub.onLaggingRecoverable = (ws) => {
    recover(ws).catch((err) => log.warn({ err: (err as Error).message }, 'lagging client recovery failed'));
  };

  const fail = (ws: LiveSocket) => (err: unknown) => {
    log.warn({ err: (err as Error).message }, 'live subscription failed');
    const data = ws.getUserData();
    if (!data.closed) {
      send(ws, errorFrame('unavailable', 'the database is unavailable; reconnect with since=<last cursor> to resume'));
      ws.end(1011, 'database unavailable');
    }
  };

  app.ws<LiveSocketData>('/live', {
    // uWS drops a connection whose frame is over this without a word (1006): twice the limit lets a frame up to that
    // size through to be answered with an error frame on an open connection, as CONTRACT §6 says of a bad frame.
    maxPayloadLength: 2 * MAX_FRAME_BYTES,
    // Hard cap far above the soft limit: the hub moves a slow client off its topic before it has been sent two soft
    // limits' worth past its last check, with frames of at most half the soft limit (or one row), so this is
    // never reached in practice; if it were, uWS closes the socket (the client resumes with `since`) rather than
    // dropping a row without reporting it.
    maxBackpressure: cfg.LIVE_MAX_BACKPRESSURE * 8 + 256 * 1024,
    closeOnBackpressureLimit: true as unknown as number,
    idleTimeout: 60,
    sendPingsAutomatically: true,
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
      const data: LiveSocketData = { filter: EMPTY_FILTER, topic: null, mode: 'idle', laggingFrom: 0, generation: 0, closed: false };
      const f = parseFilter({ service: query.get('service'), level: query.get('level'), q: query.get('q'), attr: attrParams(query) });
      let since: number | undefined;
      try {
        const raw = query.get('since');
        if (raw) since = parseRowId(raw, 'since');
        if (!f.ok) data.initialError = f.message;
        else data.initial = { filter: f.filter, since };
      } catch (err) {
        data.initialError = (err as Error).message;
      }
      res.upgrade(data, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => {
      const data = ws.getUserData();
      if (!cap.admit(ws)) {
        data.closed = true;
        return;
      }
      metrics.connections.inc();
      ws.send(JSON.stringify({ type: 'hello', head: hub.head, version: PROTOCOL_VERSION }));
      if (data.initialError) {
        ws.send(errorFrame('bad_filter', `${data.initialError}; send {"type":"subscribe","filter":{…}} to subscribe`));
        return;
      }
      const initial = data.initial!;
      subscribe(ws, initial.filter, initial.since).catch(fail(ws));
    },
    message: (ws, message, isBinary) => {
      if (isBinary) {
        send(ws, errorFrame('bad_frame', 'binary frames are not supported; send JSON text frames'));
        return;
      }
      if (message.byteLength > MAX_FRAME_BYTES) {
        send(ws, errorFrame('bad_frame', `frame of ${message.byteLength} bytes is over the limit of ${MAX_FRAME_BYTES}; a subscribe frame needs a few hundred`));
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(decodeUtf8(new Uint8Array(message), 'frame'));
      } catch {
        send(ws, errorFrame('bad_frame', 'frames must be JSON such as {"type":"subscribe","filter":{"level":"warn"},"since":123}'));
        return;
      }
      const msg = subscribeSchema.safeParse(parsed);
      if (!msg.success) {
        send(ws, errorFrame('bad_frame', `unknown or invalid message: expected {"type":"subscribe","filter":{…},"since":<id>}; ${msg.error.issues[0]?.path.join('.') ?? ''} ${msg.error.issues[0]?.message ?? ''}`.trim()));
        return;
      }
      const f = parseFilter(msg.data.filter ?? {});
      if (!f.ok) {
        send(ws, errorFrame('bad_filter', f.message));
        return;
      }
      subscribe(ws, f.filter, msg.data.since).catch(fail(ws));
    },
    drain: (ws) => {
      const data = ws.getUserData();
      if (data.mode === 'lagging' && ws.getBufferedAmount() <= cfg.LIVE_MAX_BACKPRESSURE / 2) hub.onLaggingRecoverable(ws);
    },
    close: (ws) => {
      const data = ws.getUserData();
      data.closed = true;
      data.generation++;
      hub.leave(ws);
      if (cap.release(ws)) metrics.connections.dec();
    },
  });
}
