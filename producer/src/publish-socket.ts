// WebSocket /publish (CONTRACT §3): one reply per frame, in frame order, never dropped (issue 11 point 6). On
// d804265 a client that did not read its acks got replies for 35,937 of 150,000 frames: uWS drops a send over
// maxBackpressure, and the send result was ignored. Here acks are never dropped:
// - while a client's unread replies (uWS's send buffer) are over ACK_HIGH_WATER_BYTES, or MAX_UNSENT_REPLIES of its
//   frames await their turn to be answered, its next frames are not processed: they wait, unparsed and unstored,
//   and are processed in order once replies go out (uWS 20.30 has no WebSocket pause(), so the socket is still
//   read; what it reads waits here);
// - when more than MAX_WAITING_FRAMES frames or MAX_WAITING_BYTES wait, the client is not reading: the frames
//   already processed get their replies, then the connection is closed (1008) with a reason, and every frame
//   after the last reply was not stored.
import type { ConnectionCap } from '@logstream/shared/connection-cap.js';
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { presentedToken, tokenAllowed } from '@logstream/shared/auth.js';
import { badRequest, HttpError, unauthorized } from '@logstream/shared/errors.js';
import { decodeUtf8, parseQuery, statusLine } from '@logstream/shared/uws.js';
import { decodeFrame } from './decode-events.js';
import type { IngestContext } from './ingest-context.js';

// A client that sends frames faster than Redis acknowledges them is told to slow down instead of queueing without bound.
const MAX_FRAMES_IN_FLIGHT = 256;
/** Unread reply bytes above which a client's next frames wait (an ack of one event is ~60 bytes: ~17,000 acks). */
export const ACK_HIGH_WATER_BYTES = 1024 * 1024;
/** Frames (and their bytes) that may wait for the client to read its replies before the connection is closed. */
export const MAX_WAITING_FRAMES = 4096;
export const MAX_WAITING_BYTES = 16 * 1024 * 1024;
/** Frames taken whose reply is not yet in uWS's buffer (it waits behind earlier frames' acks from Redis). */
const MAX_UNSENT_REPLIES = 1024;
/** The close code and reason of a client that stopped reading its replies. */
export const NOT_READING_CLOSE = 1008;

interface PublishSocket {
  token?: string;
  inFlight: number;
  /** uWS forbids touching a closed socket; acks may resolve after the client left. */
  closed: boolean;
  /** Set once the connection is to be closed: frames that arrive now are not processed. */
  closing: boolean;
  /** Replies go out in frame order, even though an error is known before an earlier frame's ack. */
  replies: Promise<void>;
  /** Frames taken whose reply has not been sent yet. */
  unsent: number;
  /** Frames received while the client's replies were unread, oldest first (copies: uWS reuses its buffer). */
  waiting: { data: ArrayBuffer; isBinary: boolean }[];
  waitingBytes: number;
}

/** `cap`: /publish sockets count against MAX_CONNECTIONS (shared/src/connection-cap.ts). */
export function mountPublish(app: TemplatedApp, ctx: IngestContext, cap: ConnectionCap): void {
  const { cfg, log, metrics, ingest, countRejection } = ctx;

  /** Take one frame: decode, ingest, and queue its reply behind the earlier frames' replies. */
  function processFrame(ws: WebSocket<PublishSocket>, message: ArrayBuffer, isBinary: boolean): void {
    const data = ws.getUserData();
    data.unsent++;
    const reply = (body: unknown) => {
      data.unsent--;
      if (data.closed) return;
      // maxBackpressure is far above anything buffered here (frames wait at ACK_HIGH_WATER_BYTES), so uWS buffers
      // rather than drops; 2 would mean it dropped the reply, and the client must not be left to guess.
      if (ws.send(JSON.stringify(body)) === 2) {
        log.error('a /publish reply was dropped by uWS; closing the connection');
        data.closing = true;
        ws.end(NOT_READING_CLOSE, 'a reply could not be buffered; frames after the last reply may or may not be stored');
        return;
      }
      if (data.waiting.length > 0) processWaiting(ws);
    };
    const fail = (err: unknown) => {
      countRejection(err);
      if (err instanceof HttpError) reply({ type: 'error', error: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });
      else {
        log.error({ err }, 'publish frame failed');
        reply({ type: 'error', error: 'internal', message: 'internal error' });
      }
    };
    let outcome: Promise<unknown>;
    try {
      if (isBinary) throw badRequest('binary frames are not supported: send events as text frames (JSON or plain text)');
      if (message.byteLength > cfg.MAX_BODY_BYTES) {
        throw new HttpError(413, 'payload_too_large', `frame of ${message.byteLength} bytes is over the limit of ${cfg.MAX_BODY_BYTES} bytes (MAX_BODY_BYTES); send the events in several frames; this frame was not accepted`);
      }
      if (data.inFlight >= MAX_FRAMES_IN_FLIGHT) throw new HttpError(429, 'too_many_in_flight', `over ${MAX_FRAMES_IN_FLIGHT} frames awaiting acks: wait for acks before sending more; this frame was not accepted`);
      const raws = decodeFrame(decodeUtf8(new Uint8Array(message), 'frame'));
      data.inFlight++;
      outcome = ingest(raws, data.token, 'websocket').finally(() => {
        data.inFlight--;
      });
    } catch (err) {
      outcome = Promise.reject(err);
    }
    // Handled below, after earlier frames' replies; mark it handled now so Node does not treat it as unhandled.
    outcome.catch(() => {});
    data.replies = data.replies.then(() => outcome.then((out) => reply({ type: 'ack', ...(out as object) }), fail));
  }

  /** Whether the client's replies keep up: its next frame may be taken. */
  const canTake = (ws: WebSocket<PublishSocket>, data: PublishSocket) =>
    !data.closed && !data.closing && data.unsent < MAX_UNSENT_REPLIES && ws.getBufferedAmount() < ACK_HIGH_WATER_BYTES;

  /** Process waiting frames, in order, while the client's replies keep up. */
  function processWaiting(ws: WebSocket<PublishSocket>): void {
    const data = ws.getUserData();
    while (data.waiting.length > 0 && canTake(ws, data)) {
      const next = data.waiting.shift()!;
      data.waitingBytes -= next.data.byteLength;
      processFrame(ws, next.data, next.isBinary);
    }
  }

  app.ws<PublishSocket>('/publish', {
    // uWS drops a connection whose frame is over this without a close frame or a word (1006). Twice the body limit
    // lets a frame up to that size through to be answered like an HTTP body over the limit (a payload_too_large
    // error frame, the connection kept open); only a frame past twice the limit is cut off.
    maxPayloadLength: Math.min(2 * cfg.MAX_BODY_BYTES, 64 * 1024 * 1024),
    // uWS drops (send() returns 2) what is over this. Replies stop growing at ACK_HIGH_WATER_BYTES plus the replies
    // of the frames already in flight (at most 256, each no larger than its frame): never near 1 GiB.
    maxBackpressure: 1024 * 1024 * 1024,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      // An exception here would escape into uWS: answer bad queries and tokens as JSON errors instead.
      let token: string | undefined;
      try {
        token = presentedToken(req.getHeader('authorization'), parseQuery(req.getQuery()).get('token'));
        if (!tokenAllowed(cfg.INGEST_TOKENS, token)) throw unauthorized();
      } catch (err) {
        const e = err instanceof HttpError ? err : badRequest('bad upgrade request');
        res.cork(() => res.writeStatus(statusLine(e.status)).writeHeader('Content-Type', 'application/json').end(JSON.stringify(e)));
        return;
      }
      res.upgrade<PublishSocket>(
        { token, inFlight: 0, closed: false, closing: false, replies: Promise.resolve(), unsent: 0, waiting: [], waitingBytes: 0 },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws) => {
      if (!cap.admit(ws)) {
        ws.getUserData().closed = true;
        return;
      }
      metrics.wsConnections.inc();
    },
    close: (ws) => {
      const data = ws.getUserData();
      data.closed = true;
      // Frames still waiting were never processed: nothing of them was stored.
      data.waiting = [];
      data.waitingBytes = 0;
      if (cap.release(ws)) metrics.wsConnections.dec();
    },
    drain: (ws) => processWaiting(ws),
    message: (ws, message, isBinary) => {
      const data = ws.getUserData();
      if (data.closing) return;
      if (data.waiting.length === 0 && canTake(ws, data)) {
        processFrame(ws, message, isBinary);
        return;
      }
      if (data.waiting.length >= MAX_WAITING_FRAMES || data.waitingBytes + message.byteLength > MAX_WAITING_BYTES) {
        // The client is not reading its replies. Let the frames already processed get theirs (uWS sends them
        // before the close frame), then close; none of the waiting frames, nor this one, was stored.
        data.closing = true;
        const waiting = data.waiting.length + 1;
        data.waiting = [];
        data.waitingBytes = 0;
        countRejection(new HttpError(503, 'not_reading_acks', ''));
        data.replies = data.replies.then(() => {
          if (!data.closed) ws.end(NOT_READING_CLOSE, `acks not read: no frame after the last ack was stored (${waiting} waited); read acks`);
        });
        return;
      }
      // uWS reuses the message's memory after this callback returns: keep a copy.
      data.waiting.push({ data: message.slice(0), isBinary });
      data.waitingBytes += message.byteLength;
      processWaiting(ws);
    },
  });
}
