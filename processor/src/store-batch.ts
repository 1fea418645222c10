// Store a batch of rows in PostgreSQL: one statement, one round trip, one NOTIFY, in one (implicit) transaction.
import type pg from 'pg';
import { hasSqlState, inSqlStateClass } from '@logstream/shared/sqlstate.js';

/**
 * Why ids are taken under an advisory lock (CONTRACT §4, "id order is commit order"):
 * a sequence hands out ids before commit, so with several processors a batch holding ids 101-200 could commit
 * before one holding 1-100, and a reader that already saw 200 would skip 1-100 forever. Taking the ids under a
 * transaction-level advisory lock that is released only at commit makes batches take ids and commit one after
 * another, so every id below a visible id is already visible (or never will be: a rolled-back gap).
 * A transaction-id watermark (pg_snapshot_xmin) alone would not do: an in-flight transaction can hold an id below
 * ids already handed to clients.
 * The lock, the insert and the NOTIFY form one statement run as its own transaction, so a batch costs one round
 * trip; NOTIFY already serializes notifying commits cluster-wide, so the lock adds little (bench: ingest scenario).
 * logs_begin_batch() (migration 006) takes the lock, moves the sequence to this second's first id (ids encode their
 * commit second: that is what the partitions are ranges of) and returns the batch's event ids already stored in
 * another partition within the dedupe window; ON CONFLICT DO NOTHING skips copies in the same partition. So
 * redelivered entries and resent XADDs (same event id) are no-ops.
 */
const STORE_SQL = `
WITH r AS MATERIALIZED (
  SELECT * FROM json_to_recordset($1::json)
    AS r(sid text, eid uuid, ts double precision, rt double precision, level smallint, service text, message text, attributes jsonb)
),
batch AS MATERIALIZED (SELECT logs_begin_batch($2::bigint, ARRAY(SELECT eid FROM r)) AS seen),
ins AS (
  INSERT INTO logs (id, stream_id, event_id, "timestamp", received_at, level, service, message, attributes)
  SELECT nextval('logs_id_seq'), r.sid, r.eid, to_timestamp(r.ts / 1000.0), to_timestamp(r.rt / 1000.0),
         r.level, r.service, r.message, coalesce(r.attributes, '{}'::jsonb)
  FROM batch CROSS JOIN r
  WHERE r.eid IS NULL OR NOT (r.eid = ANY(batch.seen))
  ON CONFLICT DO NOTHING
  RETURNING id
)
SELECT count(*)::int AS inserted, max(id) AS max_id,
       CASE WHEN max(id) IS NOT NULL THEN pg_notify($3, max(id)::text) END AS notified
FROM ins`;

/** Advisory-lock key that orders id assignment with commit (an arbitrary constant, shared by all processors). */
export const ID_ORDER_LOCK_KEY = 7_431_002;

export interface StoreResult {
  inserted: number;
  maxId: number | null;
}

export async function storeRows(db: pg.Pool | pg.PoolClient, rowsJson: string, channel: string): Promise<StoreResult> {
  const query = { name: 'store-batch', text: STORE_SQL, values: [rowsJson, ID_ORDER_LOCK_KEY, channel] };
  let result;
  try {
    result = await db.query<{ inserted: number; max_id: number | null }>(query);
  } catch (err) {
    // Inside a caller's transaction (a PoolClient) the failed statement aborted it: nothing to retry here.
    if (!isMissingPartition(err) || !('totalCount' in db)) throw err;
    // The maintenance loop creates partitions ahead of time; this covers a database no processor kept up (all of
    // them stopped for longer than that, or rows stored by a tool): create the current one and try once more.
    await db.query('SELECT logs_create_partitions()');
    result = await db.query<{ inserted: number; max_id: number | null }>(query);
  }
  const { rows } = result;
  return { inserted: rows[0]!.inserted, maxId: rows[0]!.max_id };
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
