// Store a batch of rows in PostgreSQL: one statement, one round trip, one NOTIFY, in one (implicit) transaction
// (the statement: sql/store-batch.ts), and which of its errors are the rows' fault.
import type pg from 'pg';
import { hasSqlState, inSqlStateClass } from '@logstream/shared/sqlstate.js';
import { createCurrentPartition, insertBatch, type InsertedBatch } from './sql/store-batch.js';

export interface StoreResult {
  inserted: number;
  maxId: number | null;
}

export async function storeRows(db: pg.Pool | pg.PoolClient, rowsJson: string, channel: string): Promise<StoreResult> {
  let result: InsertedBatch;
  try {
    result = await insertBatch(db, rowsJson, channel);
  } catch (err) {
    // Inside a caller's transaction (a PoolClient) the failed statement aborted it: nothing to retry here.
    if (!isMissingPartition(err) || !('totalCount' in db)) throw err;
    // The maintenance loop creates partitions ahead of time; this covers a database no processor kept up (all of
    // them stopped for longer than that, or rows stored by a tool): create the current one and try once more.
    await createCurrentPartition(db);
    result = await insertBatch(db, rowsJson, channel);
  }
  return { inserted: result.inserted, maxId: result.max_id };
}

/** check_violation "no partition of relation … found for row": the database lacks a partition, the row is fine. */
function isMissingPartition(err: unknown): boolean {
  return hasSqlState(err, 'checkViolation') && /no partition/.test((err as Error).message);
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity violation): the row is bad, not the database. */
export function isPoisonError(err: unknown): boolean {
  return (inSqlStateClass(err, 'dataException') || inSqlStateClass(err, 'integrityConstraintViolation')) && !isMissingPartition(err);
}

/**
 * Errors of the batch as a whole that a smaller batch may not meet: RangeError (building a JSON string over V8's
 * ~512 MiB limit: "Invalid string length", issue 11) and SQLSTATE class 54 (program_limit_exceeded), besides poison.
 */
export function isSplittableError(err: unknown): boolean {
  if (err instanceof RangeError) return true;
  return isPoisonError(err) || inSqlStateClass(err, 'programLimitExceeded');
}
