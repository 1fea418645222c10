// The machine's own ceilings, measured in the same run as the pipeline figures:
// - PostgreSQL: the same rows inserted server-side (INSERT … SELECT from generate_series) into a copy of `logs`
//   with all its indexes, ids from a sequence — once as one statement, once as 1,000-row statements (one commit
//   each, like the processors' batches but without a client round trip);
// - Redis: pipelined XADD of the same entries the producer writes, from a separate process.
import type pg from 'pg';
import { startLoad } from './lib/load.js';
import { benchRowsSelect, LOGS_COLUMNS } from './lib/payload.js';
import type { Ceilings } from './lib/results.js';
import { startStack } from './lib/stack.js';
import { REDIS_HOST, REDIS_PORT } from '../test/helpers/test-env.js';

async function insertCeiling(db: pg.Pool, rows: number, perStatement: number): Promise<number> {
  await db.query('DROP TABLE IF EXISTS logs_ceiling; DROP SEQUENCE IF EXISTS logs_ceiling_seq');
  await db.query('CREATE SEQUENCE logs_ceiling_seq AS bigint; CREATE TABLE logs_ceiling (LIKE logs INCLUDING ALL)');
  // One session for every statement, as a processor has.
  const client = await db.connect();
  try {
    const start = performance.now();
    for (let from = 1; from <= rows; from += perStatement) {
      const to = Math.min(rows, from + perStatement - 1);
      await client.query(`INSERT INTO logs_ceiling ${LOGS_COLUMNS} ${benchRowsSelect(`nextval('logs_ceiling_seq')`, 'now()', from, to)}`);
    }
    return rows / ((performance.now() - start) / 1000);
  } finally {
    client.release();
    await db.query('DROP TABLE logs_ceiling; DROP SEQUENCE logs_ceiling_seq');
  }
}

export async function measureCeilings(rows: number, log: (text: string) => void): Promise<Ceilings> {
  const stack = await startStack('ceiling', {});
  try {
    log(`PostgreSQL: ${rows.toLocaleString('en')} rows in one INSERT … SELECT`);
    const pgInsertPerSec = await insertCeiling(stack.t.pool, rows, rows);
    log(`PostgreSQL: ${Math.round(pgInsertPerSec).toLocaleString('en')} rows/s; now in 1,000-row statements`);
    const pgInsert1kPerSec = await insertCeiling(stack.t.pool, rows, 1000);
    log(`PostgreSQL: ${Math.round(pgInsert1kPerSec).toLocaleString('en')} rows/s in 1,000-row statements; Redis: pipelined XADD`);
    const xadd = startLoad<{ perSec: number }>('load-xadd.ts', { host: REDIS_HOST, port: REDIS_PORT, stream: `${stack.t.stream}:ceiling`, total: rows, batch: 1000, concurrency: 4 }, log);
    const { perSec: xaddPerSec } = await xadd.result;
    log(`Redis: ${Math.round(xaddPerSec).toLocaleString('en')} XADD/s`);
    return { rows, pgInsertPerSec, pgInsert1kPerSec, xaddPerSec };
  } finally {
    await stack.stop();
  }
}
