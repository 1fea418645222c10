// Start-up step of every service that talks to PostgreSQL: create the database when missing and apply migrations,
// retrying while PostgreSQL is not reachable yet (containers start in any order).
import { Backoff } from './backoff.js';
import type { BaseConfig } from './config.js';
import { createPool, ensureDatabase } from './db.js';
import type { Logger } from './logger.js';
import { migrate } from './migrate.js';

export async function prepareDatabase(cfg: BaseConfig, log: Logger): Promise<void> {
  const backoff = new Backoff({ initialMs: 100, maxMs: 2_000 });
  for (;;) {
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
      if (backoff.attempts % 10 === 0) log.warn({ err: (err as Error).message }, 'PostgreSQL not ready; retrying');
      await backoff.wait();
    }
  }
}
