// Loki's HTTP API on the gateway (issue 16): the endpoints Grafana's Loki data source and logcli call, GET and POST
// (form-encoded bodies, as Loki accepts), behind the same READ_TOKENS as /logs.
import type pg from 'pg';
import { presentedToken, tokenAllowed } from '@logstream/shared/auth.js';
import { unauthorized } from '@logstream/shared/errors.js';
import { timedRoute } from '@logstream/shared/http-routes.js';
import type { Logger } from '@logstream/shared/logger.js';
import { decodeUtf8, parseQuery, readBody, sendJson, type TemplatedApp } from '@logstream/shared/uws.js';
import type { GatewayConfig } from '../config.js';
import type { GatewayMetrics } from '../metrics.js';
import { BUILD_INFO, indexStats, labelNames, labelValues, queryInstant, queryRange, series } from './query-api.js';

/** A form body is a query string: 1 MiB holds any selector list Grafana sends. */
const MAX_FORM_BYTES = 1024 * 1024;

export interface LokiDeps {
  cfg: GatewayConfig;
  db: pg.Pool;
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
        sendJson(res, state, 200, await answer(params, parseQuery(`n=${pathParam}`).get('n') ?? ''));
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
