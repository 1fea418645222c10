// The processor's one runtime statement: store a batch of stream rows (shared/src/stream-entry.ts), take their ids
// in commit order and NOTIFY the newest, in one round trip. Exported as text for the bench's EXPLAIN
// (bench/diagnostics/explain-store.ts).
import type pg from 'pg';
import { STREAM_ROW_RECORDSET } from '@logstream/shared/stream-entry.js';

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
export const STORE_BATCH_SQL = `
WITH r AS MATERIALIZED (
  SELECT * FROM json_to_recordset($1::json)
    AS r(${STREAM_ROW_RECORDSET})
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

export interface InsertedBatch {
  inserted: number;
  max_id: number | null;
}

/** Store `rowsJson`, a JSON array of StreamRows, and NOTIFY `channel` of the newest id. */
export async function insertBatch(db: pg.Pool | pg.PoolClient, rowsJson: string, channel: string): Promise<InsertedBatch> {
  const { rows } = await db.query<InsertedBatch>({ name: 'store-batch', text: STORE_BATCH_SQL, values: [rowsJson, ID_ORDER_LOCK_KEY, channel] });
  return rows[0]!;
}

/** The partition for now (and those the maintenance loop keeps ahead), for a database no processor kept up. */
export async function createCurrentPartition(db: pg.Pool | pg.PoolClient): Promise<void> {
  await db.query('SELECT logs_create_partitions()');
}
