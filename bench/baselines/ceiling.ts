// The machine's own ceilings, which the ingest and scale scenarios measure in each repetition, next to the
// pipeline they are compared with (issue 17):
// - PostgreSQL: the same rows inserted server-side (INSERT … SELECT from generate_series) into a copy of `logs`
//   with all its indexes, ids from a sequence — as one statement, or as 1,000-row statements (one commit each,
//   like the processors' batches but without a client round trip) — with the CPU the cluster spent on them;
// - Redis: pipelined XADD of the same entries the producer writes, from a separate process.
import type pg from 'pg';
import { startLoad } from '../lib/load.js';
import { benchRowsSelect, LOGS_COLUMNS } from '../lib/payload.js';
import { pgCpuBetween, pgCpuSnapshot, type PgCpu } from '../lib/pg-cpu.js';
import { REDIS_HOST, REDIS_PORT } from '../../test/helpers/test-env.js';

export interface PgCeiling {
  rows: number;
  perStatement: number;
  rowsPerSec: number;
  /** CPU seconds of the cluster during the inserts: the bench database's backend, and the shared processes. */
  cpu: PgCpu;
  /** (backend + shared) CPU seconds per 1,000 rows. */
  cpuPer1k: number;
}

export async function pgCeiling(db: pg.Pool, rows: number, perStatement: number): Promise<PgCeiling> {
  await db.query('DROP TABLE IF EXISTS logs_ceiling; DROP SEQUENCE IF EXISTS logs_ceiling_seq');
  // The shape of a partition of logs: LIKE the partitioned table copies its indexes, and each partition has its own
  // unique index on event_id besides (migration 006).
  await db.query('CREATE SEQUENCE logs_ceiling_seq AS bigint; CREATE TABLE logs_ceiling (LIKE logs INCLUDING ALL); CREATE UNIQUE INDEX ON logs_ceiling (event_id)');
  // One session for every statement, as a processor has.
  const client = await db.connect();
  try {
    const before = await pgCpuSnapshot(client);
    const start = performance.now();
    for (let from = 1; from <= rows; from += perStatement) {
      const to = Math.min(rows, from + perStatement - 1);
      await client.query(`INSERT INTO logs_ceiling ${LOGS_COLUMNS} ${benchRowsSelect(`nextval('logs_ceiling_seq')`, 'now()', from, to)}`);
    }
    const seconds = (performance.now() - start) / 1000;
    const cpu = pgCpuBetween(before, await pgCpuSnapshot(client));
    return { rows, perStatement, rowsPerSec: rows / seconds, cpu, cpuPer1k: ((cpu.bench + cpu.shared) / rows) * 1000 };
  } finally {
    client.release();
    await db.query('DROP TABLE logs_ceiling; DROP SEQUENCE logs_ceiling_seq');
  }
}

/** Entries per second of pipelined XADD (1,000 per pipeline, 4 in flight) into a stream deleted afterwards. */
export async function xaddCeiling(stream: string, rows: number): Promise<number> {
  const xadd = startLoad<{ perSec: number }>('load/xadd.ts', { host: REDIS_HOST, port: REDIS_PORT, stream, total: rows, batch: 1000, concurrency: 4 }, () => {});
  return (await xadd.result).perSec;
}
