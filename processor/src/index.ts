// Processor start-up and shutdown only; the loop is in worker.ts.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { listenPort } from '../../shared/src/config.js';
import { createPool, ensureDatabase } from '../../shared/src/db.js';
import { listen, onShutdown } from '../../shared/src/lifecycle.js';
import { createLogger } from '../../shared/src/logger.js';
import { migrate } from '../../shared/src/migrate.js';
import { closeRedis, createRedis, workerOptions } from '../../shared/src/redis.js';
import { DEFAULT_PORT, loadProcessorConfig } from './config.js';
import { createHealthApp } from './health-app.js';
import { processorMetrics } from './metrics.js';
import { Worker } from './worker.js';

const cfg = loadProcessorConfig();
const log = createLogger('processor', cfg.LOG_LEVEL);
const port = listenPort(DEFAULT_PORT);
const consumer = cfg.CONSUMER_NAME ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

await prepareDatabase();
const db = createPool(cfg, { max: 4 });
const reader = createRedis(cfg, workerOptions);
const redis = createRedis(cfg, workerOptions);
const metrics = processorMetrics();
const worker = new Worker({ cfg, consumer, reader, redis, db, log, metrics });

const app = createHealthApp({ redis, stream: cfg.REDIS_STREAM, group: cfg.REDIS_GROUP, log, metrics, dbHealthy: () => worker.dbHealthy });
const server = await listen(app, port).catch((err: Error) => {
  log.fatal(err.message);
  process.exit(1);
});
worker.start();
log.info({ consumer, port: server.port, stream: cfg.REDIS_STREAM, group: cfg.REDIS_GROUP }, 'processor started');

onShutdown(log, async () => {
  // SIGTERM: finish the batch in hand, ack it, and exit (the blocking read ends within BLOCK_MS).
  await worker.stop();
  await worker.retire().catch(() => {});
  server.close();
  await Promise.all([closeRedis(reader), closeRedis(redis), db.end()]);
  log.info('processor stopped cleanly');
});

/** Create the database and apply migrations, retrying while PostgreSQL is not reachable yet. */
async function prepareDatabase(): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await ensureDatabase(cfg);
      const pool = createPool(cfg, { max: 1 });
      try {
        const applied = await migrate(pool);
        if (applied.length > 0) log.info({ applied }, 'migrations applied');
      } finally {
        await pool.end();
      }
      return;
    } catch (err) {
      if (attempt === 0 || attempt % 10 === 0) log.warn({ err: (err as Error).message }, 'PostgreSQL not ready; retrying');
      await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)));
    }
  }
}
