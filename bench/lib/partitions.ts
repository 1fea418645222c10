// Storage figures for the stats scenario (issue 15 points 5 and 6): the bench's rows placed in a closed partition
// and the partition being written, bytes per stored row, and the insert rate into the partition being written.
import type pg from 'pg';
import { benchRowsSelect, LOGS_COLUMNS } from './payload.js';
import { SEARCH_INDEX_SUFFIX } from '@logstream/shared/search-index.js';

export interface BenchPartitions {
  closed: { name: string; idFrom: number };
  hot: { name: string; idFrom: number };
}

/**
 * A partition for the interval before the current one (the maintenance loop only creates partitions from now on):
 * created and attached as logs_create_partitions() does, so that logs_close_partitions() then closes it.
 */
export async function addPreviousPartition(db: pg.Pool | pg.PoolClient): Promise<BenchPartitions> {
  const { rows } = await db.query<{ name: string; id_from: string; id_to: string; time_from: Date; time_to: Date }>(
    `SELECT name, id_from, id_to, time_from, time_to FROM logs_partitions WHERE time_from <= now() AND time_to > now()`,
  );
  const hot = rows[0]!;
  const width = Number(hot.id_to) - Number(hot.id_from);
  const from = Number(hot.id_from) - width;
  const name = `logs_${hot.time_from.toISOString().slice(0, 10).replace(/-/g, '')}_previous`;
  await db.query(`CREATE TABLE ${name} (LIKE logs INCLUDING DEFAULTS)`);
  await db.query(`CREATE UNIQUE INDEX ${name}_event_id_key ON ${name} (event_id)`);
  await db.query(`ALTER TABLE logs ATTACH PARTITION ${name} FOR VALUES FROM (${from}) TO (${hot.id_from})`);
  await db.query(
    `INSERT INTO logs_partitions (name, id_from, id_to, time_from, time_to) VALUES ($1, $2, $3, $4::timestamptz - ($5::timestamptz - $4::timestamptz), $4)`,
    [name, from, hot.id_from, hot.time_from, hot.time_to],
  );
  return { closed: { name, idFrom: from }, hot: { name: hot.name, idFrom: Number(hot.id_from) } };
}

export interface PartitionBytes {
  name: string;
  rows: number;
  /** Bytes per row: heap and TOAST; indexes other than the search index; the search index; all of them. */
  table: number;
  indexes: number;
  searchIndex: number;
  total: number;
}

/** Bytes per stored row of each partition holding rows (after VACUUM, so that the figures are the settled ones). */
export async function bytesPerRow(db: pg.Pool): Promise<PartitionBytes[]> {
  await db.query('VACUUM logs');
  const { rows } = await db.query<{ name: string; rows: string; table: string; indexes: string; search: string }>(`
    SELECT p.name, (SELECT count(*) FROM logs WHERE id >= p.id_from AND id < p.id_to) AS rows,
           pg_table_size(c.oid) AS table, pg_indexes_size(c.oid) AS indexes,
           coalesce(pg_relation_size(to_regclass(p.name || '${SEARCH_INDEX_SUFFIX}')), 0) AS search
    FROM logs_partitions p JOIN pg_class c ON c.oid = to_regclass(p.name) ORDER BY p.id_from`);
  return rows
    .filter((r) => Number(r.rows) > 0)
    .map((r) => {
      const n = Number(r.rows);
      const per = (b: number) => Math.round((b / n) * 10) / 10;
      return {
        name: r.name,
        rows: n,
        table: per(Number(r.table)),
        indexes: per(Number(r.indexes) - Number(r.search)),
        searchIndex: per(Number(r.search)),
        total: per(Number(r.table) + Number(r.indexes)),
      };
    });
}

/**
 * An empty copy of the partition being written, unless `table` exists: it takes the indexes the partition has
 * now (search index chunks included, if any).
 */
export async function copyOfPartition(db: pg.Pool, hot: string, table: string): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS ${table} (LIKE ${hot} INCLUDING ALL); CREATE SEQUENCE IF NOT EXISTS logs_insert_bench_seq`);
}

/**
 * Rows/s of 1,000-row INSERT statements of bench rows, one session, as a processor writes, into a copy of the
 * partition being written (the same columns and indexes, its own ids): the searches measured afterwards then see
 * the same rows. `offset` keeps the rows of successive runs distinct.
 */
export async function insertRate(db: pg.Pool, hot: string, rows: number, offset: number, table = 'logs_insert_bench'): Promise<number> {
  await copyOfPartition(db, hot, table);
  const client = await db.connect();
  try {
    const start = performance.now();
    for (let from = offset + 1; from <= offset + rows; from += 1000) {
      await client.query(`INSERT INTO ${table} ${LOGS_COLUMNS} ${benchRowsSelect(`nextval('logs_insert_bench_seq')`, 'now()', from, Math.min(offset + rows, from + 999))}`);
    }
    return rows / ((performance.now() - start) / 1000);
  } finally {
    client.release();
  }
}

export interface PackedBytes extends PartitionBytes {
  batches: number;
  seconds: number;
}

/**
 * The packed copy of a closed partition (migration 018: 100 rows a batch, one lz4 array per column), built by
 * logs_pack_build() as a copy beside the partition (not swapped in: shared/src/pack.ts does that past PACK_AFTER), and its bytes per row: heap and TOAST;
 * indexes other than its trigram index; its trigram index; all of them.
 */
export async function packedBytesPerRow(db: pg.Pool, partition: string): Promise<PackedBytes> {
  await db.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  // The search's fold table (migration 019), built by a database's first pack: not part of the time to pack.
  await db.query('SELECT logs_text_fold_build()');
  const start = performance.now();
  const { rows: built } = await db.query<{ rows: string; batches: string }>(`SELECT rows, batches FROM logs_pack_build($1)`, [partition]);
  const seconds = (performance.now() - start) / 1000;
  const packed = `${partition}_packed`;
  await db.query(`VACUUM ${packed}`);
  const { rows } = await db.query<{ table: string; indexes: string; search: string }>(
    `SELECT pg_table_size($1::regclass) AS table, pg_indexes_size($1::regclass) AS indexes, coalesce(pg_relation_size(to_regclass($1 || '_trgm')), 0) AS search`,
    [packed],
  );
  const n = Number(built[0]!.rows);
  const per = (b: number) => Math.round((b / n) * 10) / 10;
  const r = rows[0]!;
  return {
    name: packed,
    rows: n,
    batches: Number(built[0]!.batches),
    seconds,
    table: per(Number(r.table)),
    indexes: per(Number(r.indexes) - Number(r.search)),
    searchIndex: per(Number(r.search)),
    total: per(Number(r.table) + Number(r.indexes)),
  };
}
