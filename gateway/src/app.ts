// The gateway's HTTP surface (CONTRACT §5, §7, §8): GET /logs, /logs/<id>, /stats, the web page, health and metrics.
import { presentedToken, tokenAllowed } from '@logstream/shared/auth.js';
import { notFound, unauthorized } from '@logstream/shared/errors.js';
import { route, timedRoute, type Handler } from '@logstream/shared/http-routes.js';
import type { Logger } from '@logstream/shared/logger.js';
import { encodeLogsResponse } from '@logstream/shared/protocol.js';
import { mountProbes } from '@logstream/shared/readiness.js';
import { answerPreflight, parseQuery, sendJson, sendRaw, type HttpRequest, type TemplatedApp } from '@logstream/shared/uws.js';
import type { GatewayConfig } from './config.js';
import type { LiveHub } from './live/hub.js';
import { registerLiveSocket } from './live/uws-socket.js';
import { DEFAULT_SEARCH, parseLogPathId, parseLogsQuery, queryLogs } from './logs-query.js';
import { logByEventId, logById } from './sql/logs-page.js';
import type { GatewayMetrics } from './metrics.js';
import type { NotificationSource } from './live/notifications.js';
import { queryFields } from './fields-query.js';
import { registerLokiRoutes } from './loki/routes.js';
import { registerLokiTail } from './loki/tail.js';
import type { ConnectionCap } from '@logstream/shared/connection-cap.js';
import type { ReadGate } from './read-gate.js';
import { gatedPool, type ReadPools } from './read-pools.js';
import { loadStaticFiles } from './static-files.js';
import { countsFromRows, parseStatsQuery, queryStats } from './stats-query.js';

export interface GatewayDeps {
  cfg: GatewayConfig;
  pools: ReadPools;
  /** Expensive HTTP reads on the search pool pass a gate (read-gate.ts); /live replays have their own (live/hub.ts). */
  searches: ReadGate;
  /** The /live replays' gate, which the Loki tails share. */
  replays: ReadGate;
  /** WebSockets of every route (/live, the Loki tail) count against MAX_CONNECTIONS. */
  cap: ConnectionCap;
  log: Logger;
  metrics: GatewayMetrics;
  hub: LiveHub;
  /** The LISTEN connection, for /ready. */
  listener: NotificationSource;
}

/** Register every route on `app` (created first because the hub publishes through it). */
export function registerGatewayRoutes(app: TemplatedApp, d: GatewayDeps): void {
  const { cfg, pools, searches, replays, cap, log, metrics, hub } = d;
  const files = loadStaticFiles();
  registerLiveSocket(app, { cfg, cap, subscriptions: hub.subscriptions, metrics });
  // LogQL queries filter on text and attributes: expensive reads, on the search pool (never the live or plain ones),
  // behind the same gates as /logs?q= (queries) and /live replays (tails), so a greedy Loki reader waits its turn.
  registerLokiRoutes(app, { cfg, db: gatedPool(pools.search, searches), log, metrics });
  registerLokiTail(app, { cfg, db: gatedPool(pools.search, replays), cap, feed: hub.feed, log, metrics });

  const authorize = (req: HttpRequest, query: Map<string, string>) => {
    if (!tokenAllowed(cfg.READ_TOKENS, presentedToken(req.getHeader('authorization'), query.get('token')))) throw unauthorized();
  };

  const timed = (name: string, handler: Handler) => timedRoute(log, metrics.requestDuration, name, handler);

  app.get('/logs', timed('GET /logs', async (res, req, state) => {
    const params = parseQuery(req.getQuery());
    authorize(req, params);
    const query = parseLogsQuery(params);
    const search = { ...DEFAULT_SEARCH, budgetMs: cfg.SEARCH_BUDGET_MS };
    // A text search or attribute filter (issue 16) is an expensive read (its own pool, behind the gate); the rest are
    // index lookups.
    const page = query.filter.q === '' && !query.filter.attrs?.length ? await queryLogs(pools.reads, query, search) : await searches.run(() => queryLogs(pools.search, query, search));
    // A page stopped by its byte budget (page-bytes.ts) continues after its last row, as a full one does.
    const full = page.ids.length === query.limit || page.cut === true;
    const last = page.ids[page.ids.length - 1];
    const ascending = query.after !== undefined;
    // A page cut short by the search budget still says where to continue (logs-query.ts, SearchOptions.budgetMs).
    const next = full ? last : page.resumeAt;
    const nextBefore = ascending ? undefined : next;
    const nextAfter = ascending ? next : undefined;
    sendRaw(res, state, 200, encodeLogsResponse(page.items, nextBefore ?? null, nextAfter ?? null));
  }));

  app.get('/stats', timed('GET /stats', async (res, req, state) => {
    const params = parseQuery(req.getQuery());
    authorize(req, params);
    const query = parseStatsQuery(params);
    const answer = countsFromRows(query)
      ? await searches.run(() => queryStats(pools.search, query, Date.now(), cfg.SEARCH_BUDGET_MS))
      : await queryStats(pools.reads, query, Date.now(), cfg.SEARCH_BUDGET_MS);
    sendJson(res, state, 200, answer);
  }));

  app.get('/fields', timed('GET /fields', async (res, req, state) => {
    const params = parseQuery(req.getQuery());
    authorize(req, params);
    // A sample of the newest matching rows: bounded, but with q or attr filters a scan, so on the search pool.
    sendJson(res, state, 200, await searches.run(() => queryFields(pools.search, params)));
  }));

  app.get('/logs/:id', timed('GET /logs/:id', async (res, req, state) => {
    const params = parseQuery(req.getQuery());
    const rawId = req.getParameter(0) ?? '';
    authorize(req, params);
    const id = parseLogPathId(rawId);
    const item = 'eventId' in id ? await logByEventId(pools.reads, id.eventId) : await logById(pools.reads, id.rowId);
    if (!item) throw notFound(`no log with id ${rawId}`);
    sendRaw(res, state, 200, item);
  }));

  app.options('/*', (res) => answerPreflight(res));
  mountProbes(app, log, { postgres: () => pools.ready(), listen: () => d.listener.connected() });
  // With READ_TOKENS set, metrics need a token too (Prometheus sends it as a bearer token); /health and /ready
  // stay open for probes, and the page's static files carry no data (the page passes its token to /logs and /live).
  app.get('/metrics', route(log, async (res, req, state) => {
    authorize(req, parseQuery(req.getQuery()));
    sendRaw(res, state, 200, await metrics.registry.metrics(), metrics.registry.contentType);
  }));

  for (const [path, file] of files) {
    app.get(path, route(log, (res, _req, state) => sendRaw(res, state, 200, file.body, file.type, PAGE_HEADERS)));
  }

  app.any('/*', route(log, (_res, req) => {
    throw notFound(`no such path ${req.getUrl().slice(0, 200)}: the gateway serves /logs, /logs/<id>, /stats, /fields, WebSocket /live, /loki/api/v1/…, /ui, /health, /ready, /metrics`);
  }));
}

/**
 * Headers of the page's files (issue 11 point 9). The page loads only its own script, style and API (CSP; 'self'
 * covers its same-host WebSocket), cannot be framed (clickjacking), is never sniffed as another type, and sends no
 * Referer anywhere, so that a `/ui?token=…` read token never leaves it in one.
 */
export const PAGE_HEADERS: Record<string, string> = {
  'Cache-Control': 'no-cache',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};
