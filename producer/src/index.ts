// Producer start-up and shutdown only; the surface is in app.ts.
import { listenHost, listenPort } from '@logstream/shared/config.js';
import { requireNativeUws } from '@logstream/shared/uws.js';
import { countConnections, registerCapMetrics, startupCap } from '@logstream/shared/connection-cap.js';
import { createLogger } from '@logstream/shared/logger.js';
import { RedisConnection, requestOptions } from '@logstream/shared/redis.js';
import { startBacklogGuard } from './backlog-guard.js';
import { createBatchWriter } from './batch-writer.js';
import { createProducerApp } from './app.js';
import { DEFAULT_PORT, loadProducerConfig } from './config.js';
import type { IngestContext } from './ingest-context.js';
import { producerMetrics } from './metrics.js';
import { startShipperListeners } from './shipper-listeners.js';
import { listen, onShutdown } from '@logstream/shared/lifecycle.js';
import { StreamWatch } from '@logstream/shared/stream-watch.js';

const cfg = loadProducerConfig();
requireNativeUws('producer');
const log = createLogger('producer', cfg.LOG_LEVEL);
const cap = startupCap('producer', cfg.MAX_CONNECTIONS, log);
const port = listenPort(DEFAULT_PORT);
const host = listenHost();

// Requests are refused at once while Redis is down (no offline queue) instead of queueing without bound.
const connection = new RedisConnection(cfg, requestOptions, log);
const redis = connection.client;

const backlog = startBacklogGuard(redis, cfg.REDIS_STREAM, cfg.STREAM_MAX_BACKLOG);
let ingest: IngestContext | undefined;
const writer = createBatchWriter(redis, { replyTimeoutMs: cfg.REDIS_REPLY_TIMEOUT_MS, maxInFlightBytes: cfg.MAX_INFLIGHT_BYTES }, log);
const metrics = producerMetrics(writer);
registerCapMetrics(metrics.registry, cap);
const watch = new StreamWatch(redis, cfg.REDIS_STREAM, log, metrics.registry).start();
const app = createProducerApp({ cfg, redis: connection, log, metrics, backlog, writer, cap, onIngest: (ctx) => (ingest = ctx), streamResets: () => watch.detail() });
// Before listening: a restart under load has clients connecting from the first moment, and they are not its own.
countConnections(cap, log);
const server = await listen(app, port, host).catch((err: Error) => {
  console.error(`producer: ${err.message}`);
  process.exit(1);
});
log.info({ host: server.host, port: server.port, stream: cfg.REDIS_STREAM }, `producer listening on ${server.summary}`);
const shippers = await startShipperListeners(ingest!, host).catch((err: Error) => {
  console.error(`producer: ${err.message}`);
  process.exit(1);
});

onShutdown(log, async () => {
  server.close();
  shippers.close();
  backlog.stop();
  watch.stop();
  await connection.close();
});
