// The producer's HTTP and WebSocket surface (CONTRACT §3, §7, §8) on uWebSockets.js.
import { randomUUID } from 'node:crypto';
import { presentedToken, tokenAllowed } from '@logstream/shared/auth.js';
import { parseBatch, type ValidEvent } from '@logstream/shared/event.js';
import { fromQueryParams } from '@logstream/shared/input-adapters.js';
import { badRequest, HttpError, invalidEvent, notFound, tooManyRequests, unauthorized, unavailable } from '@logstream/shared/errors.js';
import { route, timedRoute } from '@logstream/shared/http-routes.js';
import type { Logger } from '@logstream/shared/logger.js';
import { mountProbes } from '@logstream/shared/readiness.js';
import type { RedisConnection } from '@logstream/shared/redis.js';
import { answerPreflight, decodeUtf8, headLikeGet, loadUws, parseQuery, readBody, sendJson, sendRaw, type TemplatedApp } from '@logstream/shared/uws.js';
import type { BacklogGuard } from './backlog-guard.js';
import type { ProducerConfig } from './config.js';
import { bodyKind, decodeJson, decodeNdjson } from './decode-events.js';
import { IDEMPOTENCY_KEY, idempotentEventIds } from './event-ids.js';
import type { Accepted, IngestContext } from './ingest-context.js';
import type { ProducerMetrics } from './metrics.js';
import type { ConnectionCap } from '@logstream/shared/connection-cap.js';
import { capHttp } from '@logstream/shared/http-cap.js';
import type { BatchWriter } from './batch-writer.js';
import { serializeEvents } from './publish-events.js';
import { idempotencyMarker } from '@logstream/shared/keys.js';
import { createRateLimiter } from './rate-limit.js';
import { mountPublish } from './publish-socket.js';
import { mountShipperRoutes } from './shipper-routes.js';

export interface ProducerDeps {
  cfg: ProducerConfig;
  redis: RedisConnection;
  log: Logger;
  metrics: ProducerMetrics;
  backlog: BacklogGuard;
  /** Stream resets seen (shared/src/stream-watch.ts), for the /ready detail. */
  streamResets?: () => Record<string, unknown>;
  /** Receives the ingest mechanism, for the listeners outside this app (OTLP_HTTP_PORT). */
  onIngest?: (ctx: IngestContext) => void;
  writer: BatchWriter;
  /** WebSockets (/publish) count against MAX_CONNECTIONS (start-up decides the cap: shared/src/connection-cap.ts). */
  cap: ConnectionCap;
}

export function createProducerApp(deps: ProducerDeps): TemplatedApp {
  const { cfg, log, metrics, backlog, writer, cap } = deps;
  const uws = loadUws();
  // Every route under the connection cap (http-cap.ts), as on the OTLP port (otlp-logs.ts).
  const app = capHttp(headLikeGet(uws.App()), cap);
  const limiter = createRateLimiter(cfg.INGEST_RATE_LIMIT);

  /**
   * Rate limit and backpressure checks shared by every ingest path. The token itself is checked earlier, once per
   * request (GET and POST /send before anything else, /publish at the upgrade).
   */
  function admit(token: string | undefined, events: number): void {
    // The bucket holds one second's worth: a bigger batch would be answered 429 forever (issue 11 point 9).
    if (cfg.INGEST_RATE_LIMIT > 0 && events > cfg.INGEST_RATE_LIMIT) {
      throw new HttpError(413, 'batch_over_rate_limit', `a batch of ${events} events can never fit the rate limit of ${cfg.INGEST_RATE_LIMIT} events/s per token (INGEST_RATE_LIMIT, bursts of one second's worth): send at most ${cfg.INGEST_RATE_LIMIT} events per request; nothing was stored`);
    }
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
    if (!deps.redis.ready()) throw unavailable('Redis is unavailable; nothing was stored; retry shortly', 2);
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
  const shippers: IngestContext = { cfg, log, metrics, ingest, publish, countRejection, cap };
  mountShipperRoutes(app, shippers);
  deps.onIngest?.(shippers);

  app.get('/send', timedRoute(log, metrics.requestDuration, 'GET /send', async (res, req, state) => {
    const query = parseQuery(req.getQuery());
    const token = presentedToken(req.getHeader('authorization'), query.get('token'));
    if (!tokenAllowed(cfg.INGEST_TOKENS, token)) throw unauthorized();
    sendJson(res, state, 202, await ingest([fromQueryParams(query, cfg.DEFAULT_LOG_MESSAGE)], token, 'http'));
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

  mountPublish(app, shippers, cap);

  app.options('/*', (res) => answerPreflight(res));
  mountProbes(app, log, { redis: () => deps.redis.ready() }, () => ({ backlog: backlog.backlog() ?? null, ...deps.streamResets?.() }));
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
