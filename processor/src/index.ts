// Processor start-up and shutdown only; the loop is in worker.ts.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { listenHost, listenPort } from '@logstream/shared/config.js';
import { requireNativeUws } from '@logstream/shared/uws.js';
import { PROBE_TIMEOUT_MS, withTimeout } from '@logstream/shared/timeout.js';
import { createPool } from '@logstream/shared/db.js';
import { listen, onShutdown } from '@logstream/shared/lifecycle.js';
import { createLogger } from '@logstream/shared/logger.js';
import { prepareDatabase } from '@logstream/shared/prepare-database.js';
import { closeRedis, createRedis, workerOptions } from '@logstream/shared/redis.js';
import { DEFAULT_PORT, loadProcessorConfig } from './config.js';
import { createHealthApp } from './health-app.js';
import { processorMetrics } from './metrics.js';
import { StorageMaintenance } from './storage-maintenance.js';
import { Worker } from './worker.js';
import { StreamWatch } from '@logstream/shared/stream-watch.js';

const cfg = loadProcessorConfig();
requireNativeUws('processor');
const log = createLogger('processor', cfg.LOG_LEVEL);
const port = listenPort(DEFAULT_PORT);
const host = listenHost();
const consumer = cfg.CONSUMER_NAME ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

await prepareDatabase(cfg, log);
const db = createPool(cfg, { max: 4 });
const reader = createRedis(cfg, workerOptions);
const redis = createRedis(cfg, workerOptions);
const metrics = processorMetrics();
const watch = new StreamWatch(redis, cfg.REDIS_STREAM, log, metrics.registry).start();
const worker = new Worker({ cfg, consumer, reader, redis, db, log, metrics, watch });
const maintenance = new StorageMaintenance(db, cfg, log, metrics);

// The worker's flag alone would stay true on an idle processor whose PostgreSQL went away: ask the database too.
const dbReady = async () => {
  if (!worker.dbHealthy) return false;
  try {
    await withTimeout(db.query('SELECT 1'), PROBE_TIMEOUT_MS);
    return true;
  } catch {
    return false;
  }
};
const app = createHealthApp({ redis, reader, stream: cfg.REDIS_STREAM, group: cfg.REDIS_GROUP, log, metrics, dbReady, streamResets: () => watch.detail(), readTokens: cfg.READ_TOKENS });
const server = await listen(app, port, host).catch((err: Error) => {
  console.error(`processor: ${err.message}`);
  process.exit(1);
});
maintenance.start();
worker.start();
log.info({ consumer, host: server.host, port: server.port, stream: cfg.REDIS_STREAM, group: cfg.REDIS_GROUP }, `processor started, health and metrics on ${server.summary}`);

onShutdown(log, async () => {
  // SIGTERM: finish the batch in hand, ack it, and exit (the blocking read ends within BLOCK_MS).
  watch.stop();
  await Promise.all([worker.stop(), maintenance.stop()]);
  await worker.retire().catch(() => {});
  server.close();
  await Promise.all([closeRedis(reader), closeRedis(redis), db.end()]);
  log.info('processor stopped cleanly');
});

