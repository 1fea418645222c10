// Processor start-up and shutdown only; the loop is in worker.ts.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { listenHost, listenPort } from '@logstream/shared/config.js';
import { requireNativeUws } from '@logstream/shared/uws.js';
import { PostgresPool } from '@logstream/shared/db.js';
import { listen, onShutdown } from '@logstream/shared/lifecycle.js';
import { createLogger } from '@logstream/shared/logger.js';
import { prepareDatabase } from '@logstream/shared/prepare-database.js';
import { RedisConnection, workerOptions } from '@logstream/shared/redis.js';
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
const postgres = new PostgresPool(cfg, { max: 4 }, log);
const db = postgres.pool;
// The blocking read (XREADGROUP BLOCK) on a connection of its own: acks, claims and probes never wait behind it.
const readerConnection = new RedisConnection(cfg, workerOptions, log, 'redis reader');
const redisConnection = new RedisConnection(cfg, workerOptions, log);
const metrics = processorMetrics();
const watch = new StreamWatch(redisConnection.client, cfg.REDIS_STREAM, log, metrics.registry).start();
const worker = new Worker({ cfg, consumer, reader: readerConnection.client, redis: redisConnection.client, db, log, metrics, watch });
const maintenance = new StorageMaintenance(db, cfg, log, metrics);

// The worker's flag alone would stay true on an idle processor whose PostgreSQL went away: ask the database too.
const dbReady = async () => worker.dbHealthy && (await postgres.ready());
const app = createHealthApp({ redis: redisConnection, reader: readerConnection, stream: cfg.REDIS_STREAM, group: cfg.REDIS_GROUP, log, metrics, dbReady, streamResets: () => watch.detail(), readTokens: cfg.READ_TOKENS });
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
  await Promise.all([readerConnection.close(), redisConnection.close(), postgres.close()]);
  log.info('processor stopped cleanly');
});

