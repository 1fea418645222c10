// Loki's HTTP API on the gateway (issue 16): the endpoints Grafana's Loki data source and logcli call, GET and POST
// (form-encoded bodies, as Loki accepts), behind the same READ_TOKENS as /logs.
import { presentedToken, tokenAllowed } from '@logstream/shared/auth.js';
import { HttpError, unauthorized } from '@logstream/shared/errors.js';
import { timedRoute } from '@logstream/shared/http-routes.js';
import type { Logger } from '@logstream/shared/logger.js';
import { decodeUtf8, parseQuery, readBody, sendJson, type TemplatedApp } from '@logstream/shared/uws.js';
import type { GatewayConfig } from '../config.js';
import type { GatewayMetrics } from '../metrics.js';
import { BusyError } from '../read-gate.js';
import type { Connectable } from '../read-pools.js';
import { LokiError } from './params.js';
import { BUILD_INFO, indexStats, labelNames, labelValues, queryInstant, queryRange, series } from './query-api.js';

/** A form body is a query string: 1 MiB holds any selector list Grafana sends. */
const MAX_FORM_BYTES = 1024 * 1024;

export interface LokiDeps {
  cfg: GatewayConfig;
  /** The search pool behind the HTTP search gate (read-pools.ts gatedPool), as /logs?q= takes it. */
  db: Connectable;
  log: Logger;
  metrics: GatewayMetrics;
}

export function registerLokiRoutes(app: TemplatedApp, d: LokiDeps): void {
  const { cfg, db, log, metrics } = d;
  type Answer = (p: URLSearchParams, pathParam: string) => Promise<unknown> | unknown;

  const endpoint = (path: string, answer: Answer, methods: ('GET' | 'POST')[] = ['GET', 'POST']) => {
    for (const method of methods) {
      const handler = timedRoute(log, metrics.requestDuration, `${method} ${path}`, async (res, req, state) => {
        // Everything from `req` is read before the first await (uWS forbids it later).
        const query = req.getQuery() ?? '';
        const authorization = req.getHeader('authorization');
        const pathParam = req.getParameter(0) ?? '';
        let text = query;
        if (method === 'POST') {
          const declared = Number(req.getHeader('content-length') || NaN);
          const body = decodeUtf8(await readBody(res, state, MAX_FORM_BYTES, Number.isFinite(declared) ? declared : undefined));
          text = [query, body.trim()].filter((s) => s !== '').join('&');
        }
        parseQuery(text); // invalid UTF-8 in the query is a 400 (shared/src/uws.ts)
        const params = new URLSearchParams(text);
        if (!tokenAllowed(cfg.READ_TOKENS, presentedToken(authorization, params.get('token') ?? undefined))) throw unauthorized();
        let body: unknown;
        try {
          body = await answer(params, parseQuery(`n=${pathParam}`).get('n') ?? '');
        } catch (err) {
          throw inLokiShape(err);
        }
        sendJson(res, state, 200, body);
      });
      if (method === 'GET') app.get(path, handler);
      else app.post(path, handler);
    }
  };

  endpoint('/loki/api/v1/query_range', (p) => queryRange(db, p));
  endpoint('/loki/api/v1/query', (p) => queryInstant(db, p));
  endpoint('/loki/api/v1/labels', (p) => labelNames(db, p));
  endpoint('/loki/api/v1/label/:name/values', (p, name) => labelValues(db, name, p));
  endpoint('/loki/api/v1/series', (p) => series(db, p));
  endpoint('/loki/api/v1/index/stats', (p) => indexStats(db, p));
  endpoint('/loki/api/v1/status/buildinfo', () => BUILD_INFO, ['GET']);
}

/**
 * A refusal or a timeout in Loki's error shape. A full wait queue is Loki's own 429 "too many outstanding requests"
 * (its query scheduler's answer, which Grafana shows and retries later); a read that waited its longest, or that
 * its statement timeout cancelled, is 503. Both keep their Retry-After.
 */
export function inLokiShape(err: unknown): unknown {
  if (err instanceof LokiError || !(err instanceof HttpError) || err.status !== 503) return err;
  if (err instanceof BusyError && err.reason === 'queue_full') return new LokiError(429, err.code, `too many outstanding requests: ${err.message}`, err.headers, 'unavailable');
  return new LokiError(503, err.code, err.message, err.headers, err.code === 'query_timeout' ? 'timeout' : 'unavailable');
}
