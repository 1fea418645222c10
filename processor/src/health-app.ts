// The processor's small HTTP surface: /health, /ready, /metrics (CONTRACT §8).
import { replyToMap, type RedisConnection } from '@logstream/shared/redis.js';
import { withTimeout } from '@logstream/shared/timeout.js';
import { route } from '@logstream/shared/http-routes.js';
import { mountProbes } from '@logstream/shared/readiness.js';
import type { Logger } from '@logstream/shared/logger.js';
import { notFound, unauthorized } from '@logstream/shared/errors.js';
import { presentedToken, tokenAllowed } from '@logstream/shared/auth.js';
import { headLikeGet, loadUws, parseQuery, sendRaw, type TemplatedApp } from '@logstream/shared/uws.js';
import type { ProcessorMetrics } from './metrics.js';

export interface HealthDeps {
  redis: RedisConnection;
  /** The blocking-read connection: down means no work is read even when `redis` is up. */
  reader: RedisConnection;
  stream: string;
  group: string;
  log: Logger;
  metrics: ProcessorMetrics;
  /** PostgreSQL reachable and the last store did not fail on it. */
  dbReady: () => Promise<boolean>;
  /** Stream resets seen (stream-watch.ts): reported, not a reason to be unready, since nothing restarting fixes them. */
  streamResets?: () => Record<string, unknown>;
  /** READ_TOKENS: with any set, /metrics wants one of them, as on the gateway; /health and /ready stay open. */
  readTokens: string[];
}

export function createHealthApp(d: HealthDeps): TemplatedApp {
  const app = headLikeGet(loadUws().App());
  mountProbes(app, d.log, { redis: () => d.redis.ready() && d.reader.ready(), postgres: d.dbReady }, () => ({ ...d.streamResets?.() }));
  app.get('/metrics', route(d.log, async (res, req, state) => {
    if (!tokenAllowed(d.readTokens, presentedToken(req.getHeader('authorization'), parseQuery(req.getQuery()).get('token')))) throw unauthorized();
    // This connection never gives up on a command (workerOptions), so while Redis is down a sample would wait
    // forever and so would the scrape (found by test/metrics.test.ts): sample only when connected, within 1 s.
    if (d.redis.ready()) await withTimeout(sampleStream(d), SAMPLE_TIMEOUT_MS).catch(() => {});
    sendRaw(res, state, 200, await d.metrics.registry.metrics(), d.metrics.registry.contentType);
  }));
  app.any('/*', route(d.log, () => {
    throw notFound('the processor serves /health, /ready and /metrics only');
  }));
  return app;
}

const SAMPLE_TIMEOUT_MS = 1_000;

/** Stream length, group lag and pending count, sampled on scrape. On failure the gauges keep their last values. */
async function sampleStream(d: HealthDeps): Promise<void> {
  const groups = (await d.redis.client.xinfo('GROUPS', d.stream)) as unknown[][];
  for (const g of groups) {
    const info = replyToMap(g);
    if (info.get('name') !== d.group) continue;
    d.metrics.groupPending.set(Number(info.get('pending') ?? 0));
    // Redis answers a nil lag when it cannot tell (entries deleted past the group's position): leave the gauge be.
    const lag = info.get('lag');
    if (lag !== null && lag !== undefined) d.metrics.groupLag.set(Number(lag));
  }
  d.metrics.streamLength.set(await d.redis.client.xlen(d.stream));
}

