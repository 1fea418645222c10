// The producer's HTTP and WebSocket surface (CONTRACT §3, §7, §8) on uWebSockets.js.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { presentedToken, tokenAllowed } from '../../shared/src/auth.js';
import { parseBatch, type ValidEvent } from '../../shared/src/event.js';
import { badRequest, HttpError, invalidEvent, isConnectionError, notFound, tooManyRequests, unauthorized, unavailable } from '../../shared/src/errors.js';
import { route, timedRoute } from '../../shared/src/http-routes.js';
import type { Logger } from '../../shared/src/logger.js';
import { answerPreflight, decodeUtf8, loadUws, parseQuery, readBody, sendJson, sendRaw, statusLine, type TemplatedApp } from '../../shared/src/uws.js';
import type { BacklogGuard } from './backlog-guard.js';
import type { ProducerConfig } from './config.js';
import { bodyKind, decodeFrame, decodeJson, decodeNdjson } from './decode-events.js';
import { IDEMPOTENCY_KEY, idempotentEventIds } from './event-ids.js';
import type { Accepted, IngestContext } from './ingest-context.js';
import type { ProducerMetrics } from './metrics.js';
import type { BatchWriter } from './batch-writer.js';
import { serializeEvents } from './publish-events.js';
import { idempotencyMarker } from '../../shared/src/keys.js';
import { createRateLimiter } from './rate-limit.js';
import { mountShipperRoutes } from './shipper-routes.js';

export interface ProducerDeps {
  cfg: ProducerConfig;
  redis: Redis;
  log: Logger;
  metrics: ProducerMetrics;
  backlog: BacklogGuard;
  /** Receives the ingest mechanism, for the listeners outside this app (OTLP_HTTP_PORT). */
  onIngest?: (ctx: IngestContext) => void;
  writer: BatchWriter;
}

interface PublishSocket {
  token?: string;
  inFlight: number;
  /** uWS forbids touching a closed socket; acks may resolve after the client left. */
  closed: boolean;
  /** Replies go out in frame order, even though an error is known before an earlier frame's ack. */
  replies: Promise<void>;
}

// A client that sends frames faster than Redis acknowledges them is told to slow down instead of queueing without bound.
const MAX_FRAMES_IN_FLIGHT = 256;

export function createProducerApp(deps: ProducerDeps): TemplatedApp {
  const { cfg, redis, log, metrics, backlog, writer } = deps;
  const uws = loadUws();
  const app = uws.App();
  const limiter = createRateLimiter(cfg.INGEST_RATE_LIMIT);

  /**
   * Rate limit and backpressure checks shared by every ingest path. The token itself is checked earlier, once per
   * request (GET and POST /send before anything else, /publish at the upgrade).
   */
  function admit(token: string | undefined, events: number): void {
    const wait = limiter.take(token ?? '', events);
    if (wait > 0) throw tooManyRequests(`rate limit of ${cfg.INGEST_RATE_LIMIT} events/s`, wait);
    if (backlog.over()) {
      throw unavailable(`the stream backlog (${backlog.backlog()} entries) is over STREAM_MAX_BACKLOG=${cfg.STREAM_MAX_BACKLOG}; processors are behind, retry later`, 5);
    }
  }

  /** `eventIds`: the ids of an Idempotency-Key request, derived only once the batch is valid and admitted. */
  async function ingest(raws: unknown[], token: string | undefined, transport: string, eventIds?: (count: number) => string[]): Promise<Accepted> {
    const parsed = parseBatch(raws);
    if (!parsed.ok) throw invalidEvent(parsed.issues);
    return await publish(parsed.events, token, transport, eventIds);
  }

  /** Admit and publish a validated batch (the shipper protocols that answer per record validate one by one). */
  async function publish(events: ValidEvent[], token: string | undefined, transport: string, eventIds?: (count: number) => string[]): Promise<Accepted> {
    admit(token, events.length);
    if (redis.status !== 'ready') throw unavailable('Redis is unavailable; nothing was stored; retry shortly', 2);
    // The answer's ids are the event ids, which storage keys rows by and GET /logs/<id> finds (issue 12).
    const keyed = eventIds?.(events.length);
    const ids = keyed ?? events.map(() => randomUUID());
    // Every error from here on is an HttpError that says whether anything may have been stored (batch-writer.ts).
    const added = await writer.write(cfg.REDIS_STREAM, serializeEvents(events, ids), keyed && idempotencyMarker(cfg.REDIS_STREAM, keyed[0]!));
    // An Idempotency-Key resend within the window adds nothing: the same ids, and `duplicate` says so.
    const duplicate = added.length === 0;
    if (!duplicate) metrics.accepted.inc({ transport }, ids.length);
    return keyed ? { accepted: ids.length, ids, duplicate } : { accepted: ids.length, ids };
  }

  const countRejection = (err: unknown) => {
    if (err instanceof HttpError) metrics.rejected.inc({ reason: err.code });
  };

  // Loki push, OTLP/HTTP logs, Elasticsearch _bulk (issue 14): decoders into the same ingest.
  const shippers: IngestContext = { cfg, log, metrics, ingest, publish, countRejection };
  mountShipperRoutes(app, shippers);
  deps.onIngest?.(shippers);

  app.get('/send', timedRoute(log, metrics.requestDuration, 'GET /send', async (res, req, state) => {
    const query = parseQuery(req.getQuery());
    const token = presentedToken(req.getHeader('authorization'), query.get('token'));
    if (!tokenAllowed(cfg.INGEST_TOKENS, token)) throw unauthorized();
    const event: Record<string, unknown> = { message: query.get('message') ?? cfg.DEFAULT_LOG_MESSAGE };
    const attributes: Record<string, string> = {};
    for (const [k, v] of query) {
      if (k === 'message' || k === 'token') continue;
      if (k === 'level' || k === 'service' || k === 'timestamp') event[k] = /^\d+$/.test(v) && k !== 'service' ? Number(v) : v;
      else attributes[k] = v;
    }
    if (Object.keys(attributes).length > 0) event.attributes = attributes;
    sendJson(res, state, 202, await ingest([event], token, 'http'));
  }, countRejection));

  app.post('/send', timedRoute(log, metrics.requestDuration, 'POST /send', async (res, req, state) => {
    const contentType = req.getHeader('content-type');
    const contentLength = req.getHeader('content-length');
    const token = presentedToken(req.getHeader('authorization'), parseQuery(req.getQuery()).get('token'));
    const idempotencyKey = req.getHeader('idempotency-key');
    // Reject before reading a byte of the body when the type, the token, the key or the declared size is wrong.
    const kind = bodyKind(contentType);
    if (!tokenAllowed(cfg.INGEST_TOKENS, token)) throw unauthorized();
    if (idempotencyKey !== '' && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw badRequest('Idempotency-Key must be 1 to 255 visible ASCII characters, such as a UUID');
    }
    const body = await readBody(res, state, cfg.MAX_BODY_BYTES, contentLength ? Number(contentLength) : undefined);
    const text = decodeUtf8(body);
    const raws = kind === 'ndjson' ? decodeNdjson(text) : decodeJson(text);
    const eventIds = idempotencyKey === '' ? undefined : (count: number) => idempotentEventIds(token, idempotencyKey, body, count);
    sendJson(res, state, 202, await ingest(raws, token, 'http', eventIds));
  }, countRejection));

  app.ws<PublishSocket>('/publish', {
    // uWS drops a connection whose frame is over this without a close frame or a word (1006). Twice the body limit
    // lets a frame up to that size through to be answered like an HTTP body over the limit (a payload_too_large
    // error frame, the connection kept open); only a frame past twice the limit is cut off.
    maxPayloadLength: Math.min(2 * cfg.MAX_BODY_BYTES, 64 * 1024 * 1024),
    maxBackpressure: 1024 * 1024,
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
        { token, inFlight: 0, closed: false, replies: Promise.resolve() },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: () => metrics.wsConnections.inc(),
    close: (ws) => {
      ws.getUserData().closed = true;
      metrics.wsConnections.dec();
    },
    message: (ws, message, isBinary) => {
      const data = ws.getUserData();
      const reply = (body: unknown) => {
        if (!data.closed) ws.send(JSON.stringify(body));
      };
      const fail = (err: unknown) => {
        countRejection(err);
        if (err instanceof HttpError) reply({ type: 'error', error: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });
        else if (isConnectionError(err)) reply({ type: 'error', error: 'unavailable', message: 'Redis is unavailable; retry shortly' });
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
    },
  });

  app.options('/*', (res) => answerPreflight(res));
  app.get('/health', route(log, (res, _req, state) => sendJson(res, state, 200, { status: 'ok' })));
  app.get('/ready', route(log, (res, _req, state) => {
    const ready = redis.status === 'ready';
    sendJson(res, state, ready ? 200 : 503, { ready, redis: redis.status, backlog: backlog.backlog() ?? null }, ready ? {} : { 'Retry-After': '2' });
  }));
  // Metrics say how much traffic flows: with tokens set they need one too (Prometheus sends it as a bearer
  // token); /health and /ready stay open for probes, and carry no data.
  app.get('/metrics', route(log, async (res, req, state) => {
    if (!tokenAllowed(cfg.INGEST_TOKENS, presentedToken(req.getHeader('authorization'), parseQuery(req.getQuery()).get('token')))) throw unauthorized();
    metrics.backlog.set(backlog.backlog() ?? 0);
    const body = await metrics.registry.metrics();
    sendRaw(res, state, 200, body, metrics.registry.contentType);
  }));
  app.any('/*', route(log, (res, req, state) => {
    const url = req.getUrl();
    if (url === '/send' || url === '/publish') throw new HttpError(405, 'method_not_allowed', `${req.getMethod().toUpperCase()} is not allowed on ${url}`);
    throw notFound(`no such path ${url.slice(0, 200)}: the producer serves GET/POST /send, WebSocket /publish, POST /loki/api/v1/push, POST /v1/logs, POST /_bulk, /health, /ready, /metrics`);
  }));
  return app;
}
