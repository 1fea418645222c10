// The storage lifecycle of logs (issue 15; the SQL is in shared/migrations/006_logs_partitioned.sql and 021):
// partitions created ahead of time, closed, packed (pack.ts), dropped by retention; rollups aged out. Used by the
// processors' maintenance loop and by `npm run storage`.
import type pg from 'pg';
import { packNextPartition, type PackOptions, type PackOutcome } from './pack.js';

export interface StorageSettings {
  /** Seconds per partition. */
  PARTITION_INTERVAL: number;
  /** Seconds; 0 keeps everything. */
  RETENTION: number;
  RETENTION_MAX_BYTES?: number | undefined;
  /** Seconds; 0 keeps every rollup row. */
  ROLLUP_RETENTION: number;
  /** Seconds after its end that a closed partition is packed; 0: never (config.ts: at least 2 × PARTITION_INTERVAL). */
  PACK_AFTER: number;
}

export interface MaintenanceResult {
  created: string[];
  closed: string[];
  dropped: string[];
  rollupRowsDeleted: number;
  /** The partition packed by this pass (at most one), or the one whose swap is retried next pass. */
  pack?: PackOutcome;
}

const names = (rows: Record<string, string>[]) => rows.map((r) => Object.values(r)[0]!);

/**
 * One pass: partitions for now and the next two intervals, close the ones whose time is over, apply retention, age
 * out rollups, pack the oldest partition due (after retention: nothing is packed only to be dropped). Each step is
 * one statement (its own transaction) under the maintenance advisory lock inside the SQL functions, and packing is
 * under a lock of its own (pack.ts), so any number of processors may run it at once: the second one finds nothing
 * left to do.
 */
export async function maintainStorage(db: pg.Pool, s: StorageSettings, opts: PackOptions = {}): Promise<MaintenanceResult> {
  await db.query(
    `UPDATE logs_storage_settings SET partition_interval = make_interval(secs => $1) WHERE partition_interval <> make_interval(secs => $1)`,
    [s.PARTITION_INTERVAL],
  );
  const created = names((await db.query(`SELECT logs_create_partitions(make_interval(secs => $1)) AS name`, [2 * s.PARTITION_INTERVAL])).rows);
  const closed = names((await db.query(`SELECT logs_close_partitions() AS name`)).rows);
  const dropped = names(
    (await db.query(`SELECT logs_apply_retention(CASE WHEN $1 > 0 THEN make_interval(secs => $1) END, $2::bigint) AS name`, [s.RETENTION, s.RETENTION_MAX_BYTES ?? null])).rows,
  );
  let rollupRowsDeleted = 0;
  if (s.ROLLUP_RETENTION > 0) {
    for (const [table, column] of [['logs_per_minute', 'minute'], ['logs_per_hour', 'hour']] as const) {
      const r = await db.query(`DELETE FROM ${table} WHERE ${column} < now() - make_interval(secs => $1)`, [s.ROLLUP_RETENTION]);
      rollupRowsDeleted += r.rowCount ?? 0;
    }
  }
  // Last: a pack takes seconds, and a failed one (cancelled when the processor stops) leaves the steps above done.
  const pack = await packNextPartition(db, s.PACK_AFTER, opts);
  return { created, closed, dropped, rollupRowsDeleted, ...(pack ? { pack } : {}) };
}

export type PartitionState = 'legacy' | 'ahead' | 'hot' | 'open' | 'closed' | 'packed';

export interface PartitionStatus {
  name: string;
  /** null: from the smallest id (logs_legacy). */
  idFrom: number | null;
  idTo: number;
  timeFrom: Date | null;
  timeTo: Date;
  /** Planner estimate (pg_class.reltuples; exact after ANALYZE), or an exact count when asked; packed: exact. */
  rows: number;
  /** Of the table it is stored in: its rows, or its packed copy. */
  bytes: number;
  indexes: string[];
  state: PartitionState;
}

// A packed partition's rows: the sum of its batches' row_count (one small column of ~1,900 batches for 190,000 rows).
const STATUS_SQL = `
SELECT p.name, p.id_from, p.id_to, p.time_from, p.time_to, p.closed, p.packed,
       CASE WHEN p.packed THEN (SELECT coalesce(sum(b.row_count), 0) FROM logs_packed b WHERE b.id_from >= p.id_from AND b.id_from < p.id_to)
            ELSE greatest(c.reltuples, 0) END::bigint AS rows,
       pg_total_relation_size(c.oid) AS bytes,
       coalesce((SELECT array_agg(ic.relname::text || CASE WHEN i.indisvalid THEN '' ELSE ' (building)' END ORDER BY ic.relname)
                 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid), '{}') AS indexes,
       CASE WHEN p.packed THEN 'packed'
            WHEN p.time_from IS NULL THEN 'legacy'
            WHEN p.time_from > now() THEN 'ahead'
            WHEN p.time_to > now() THEN 'hot'
            WHEN p.closed THEN 'closed' ELSE 'open' END AS state
FROM logs_partitions p JOIN pg_class c ON c.oid = logs_partition_table(p)
ORDER BY p.id_from`;

export async function partitionStatus(db: pg.Pool, exact = false): Promise<PartitionStatus[]> {
  const { rows } = await db.query(STATUS_SQL);
  const out: PartitionStatus[] = [];
  for (const r of rows) {
    let count = Number(r.rows);
    if (exact && !r.packed) count = Number((await db.query(`SELECT count(*) AS n FROM "${String(r.name).replace(/"/g, '""')}"`)).rows[0].n);
    out.push({
      name: r.name,
      idFrom: r.time_from === null ? null : Number(r.id_from),
      idTo: Number(r.id_to),
      timeFrom: r.time_from,
      timeTo: r.time_to,
      rows: count,
      bytes: Number(r.bytes),
      indexes: r.indexes,
      state: r.state,
    });
  }
  return out;
}

export interface StorageTotals {
  partitions: number;
  bytes: number;
  droppedPartitions: number;
}

export async function storageTotals(db: pg.Pool): Promise<StorageTotals> {
  const { rows } = await db.query(`
    SELECT (SELECT count(*) FROM logs_partitions)::int AS partitions,
           (SELECT coalesce(sum(pg_total_relation_size(logs_partition_table(p))), 0) FROM logs_partitions p)::bigint AS bytes,
           (SELECT count(*) FROM logs_dropped)::int AS dropped`);
  return { partitions: rows[0].partitions, bytes: Number(rows[0].bytes), droppedPartitions: rows[0].dropped };
}
