// The loki scenario's table (issue 16: "on the 5 M-row table"): 5 million bench rows over 24 h, generated
// server-side (one INSERT … SELECT generate_series per 1 M rows) into the partitioned logs table as the processor
// stores them: ids encode their commit second (logs_id_floor, migration 006), so a day's rows fill yesterday's and
// today's partitions, the closed one records its "timestamp" range, and the rollups count every row (their
// trigger); for the loki scenario the closed partition is then packed (issue 15 point 6). The database is kept across runs (seeding 5 M
// rows is most of a minute); a marker table says what it holds, and a table seeded by another generator version or
// row count is dropped and seeded again.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectionConfig, createPool, ensureDatabase, quoteIdent } from '@logstream/shared/db.js';
import { migrate } from '@logstream/shared/migrate.js';
import { buildSearchIndexes } from '@logstream/shared/search-index.js';
import { PG_HOST, PG_PORT, PG_USER, REDIS_HOST, REDIS_PORT } from '../../test/helpers/test-env.js';
import { benchRowsSelect, LOGS_COLUMNS } from './payload.js';

/** Bump when the rows generated change: a kept table of another version is seeded again. */
const SEED_VERSION = 1;
const DAY_S = 86_400;
const ID_STEP = 1_048_576; // ids per commit second (migration 006)

export interface SeededTable {
  database: string;
  pool: pg.Pool;
  rows: number;
  /** End of the seeded day (the newest row's second + 1 s): the scenario's windows end here. */
  endMs: number;
  /** Seconds the seeding took in this run; null when the table was kept from an earlier run. */
  seedSeconds: number | null;
  /** Seeding time recorded when the kept table was made. */
  seededSeconds: number;
  size: string;
  packed: PackedPart;
  close(): Promise<void>;
}

/** The packed part of the kept table (issue 15 point 6). */
export interface PackedPart {
  partitions: string[];
  rows: number;
  /** Bytes of the packed copies (table, TOAST, indexes) per row. */
  bytesPerRow: number;
  /** Its rows' "timestamp" range, ms (null without a packed partition). */
  fromMs: number | null;
  toMs: number | null;
  /** Seconds this run took to pack (0 when every closed partition was packed already). */
  packSeconds: number;
}

/**
 * The kept table's closed partitions packed, as the maintenance loop packs closed partitions once they are old
 * enough (issue 15 point 6): built and swapped in here whatever their age, so that the scenario's day reads packed
 * batches for the part of it before the current partition (the seeded day starts in yesterday's partition).
 * Idempotent: a packed partition stays packed, and a kept table packed by an earlier run is only read.
 */
async function packClosedPartitions(pool: pg.Pool, log: (t: string) => void): Promise<PackedPart> {
  const t0 = performance.now();
  const { rows: todo } = await pool.query<{ name: string }>(
    `SELECT name FROM logs_partitions WHERE closed AND NOT packed AND time_from IS NOT NULL AND to_regclass(name) IS NOT NULL ORDER BY id_from`,
  );
  for (const { name } of todo) {
    const { rows } = await pool.query<{ rows: string; bytes: string }>(`SELECT rows::text, bytes::text FROM logs_pack_build($1)`, [name]);
    await pool.query(`SELECT logs_pack_swap($1)`, [name]);
    // Statistics for the planner, as autovacuum would gather them in a deployment.
    await pool.query(`ANALYZE ${quoteIdent(`${name}_packed`)}`);
    log(`  packed ${name}: ${Number(rows[0]!.rows).toLocaleString('en')} rows, ${(Number(rows[0]!.bytes) / Number(rows[0]!.rows)).toFixed(1)} B a row (${Math.round((performance.now() - t0) / 1000)} s)`);
  }
  return packedPart(pool, todo.length > 0 ? (performance.now() - t0) / 1000 : 0);
}

async function packedPart(pool: pg.Pool, packSeconds: number): Promise<PackedPart> {
  const { rows } = await pool.query<{ names: string[] | null; rows: string | null; bytes: string | null; from_ms: string | null; to_ms: string | null }>(
    `SELECT array_agg(name ORDER BY id_from) AS names,
            (SELECT sum(row_count)::text FROM logs_packed) AS rows,
            sum(pg_total_relation_size(logs_partition_table(p)))::text AS bytes,
            (extract(epoch FROM min(ts_min)) * 1000)::bigint::text AS from_ms, (extract(epoch FROM max(ts_max)) * 1000)::bigint::text AS to_ms
     FROM logs_partitions p WHERE packed`,
  );
  const r = rows[0]!;
  const n = Number(r.rows ?? 0);
  return {
    partitions: r.names ?? [],
    rows: n,
    bytesPerRow: n > 0 ? Number(r.bytes) / n : 0,
    fromMs: r.from_ms === null ? null : Number(r.from_ms),
    toMs: r.to_ms === null ? null : Number(r.to_ms),
    packSeconds,
  };
}

const dbConfig = (database: string) => ({ DB_HOST: PG_HOST, DB_PORT: PG_PORT, POSTGRES_USER: PG_USER, POSTGRES_DB: database, POSTGRES_PASSWORD: undefined, DATABASE_URL: undefined });

interface Marker {
  version: number;
  rows: string;
  end_ms: string;
  seconds: number;
}

async function readMarker(pool: pg.Pool): Promise<Marker | undefined> {
  const { rows } = await pool.query<Marker>(`SELECT version, rows::text, end_ms::text, seconds FROM bench_loki_seed`).catch(() => ({ rows: [] as Marker[] }));
  return rows[0];
}

async function dropDatabase(database: string): Promise<void> {
  const admin = new pg.Client(connectionConfig(dbConfig(database), 'postgres'));
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** The kept table, or a new one seeded now with `rows` rows; `pack`: its closed partitions packed (the loki scenario). */
export async function lokiTable(database: string, rows: number, log: (t: string) => void, opts: { pack?: boolean } = {}): Promise<SeededTable> {
  const cfg = dbConfig(database);
  await ensureDatabase(cfg);
  let pool = createPool(cfg, { max: 4 });
  let marker = await readMarker(pool);
  let seedSeconds: number | null = null;
  if (!marker || marker.version !== SEED_VERSION || Number(marker.rows) !== rows) {
    if (marker) log(`  kept table holds ${marker.rows} rows of seed version ${marker.version}: seeding again`);
    await pool.end();
    await dropDatabase(database);
    await ensureDatabase(cfg);
    pool = createPool(cfg, { max: 4 });
    const start = performance.now();
    await migrate(pool);
    await seed(pool, rows, log);
    seedSeconds = (performance.now() - start) / 1000;
    await pool.query(`UPDATE bench_loki_seed SET seconds = $1`, [seedSeconds]);
    marker = (await readMarker(pool))!;
  } else {
    // Migrations landed since the table was seeded apply to it as to any deployment's table.
    const applied = await migrate(pool);
    if (applied.length > 0) log(`  applied ${applied.join(', ')} to the kept table`);
    log(`  kept table from an earlier run: ${Number(marker.rows).toLocaleString('en')} rows (seeded in ${Math.round(marker.seconds)} s)`);
  }
  // Packed first: a packed partition needs no row search index (its copy has its own), and building it took minutes.
  const packed = opts.pack ? await packClosedPartitions(pool, log) : await packedPart(pool, 0);
  // The search indexes a deployment's processors build in their maintenance loop (shared/src/search-index.ts): the
  // closed partition's whole, and chunks of the one being written: without them the table read as no deployment's
  // would. Built once and kept with the table; a kept table seeded before gets them on its next run (the chunk of
  // the partition being written, 2.9 M rows, took 791 s at load average ~17; the closed partition's 469 s).
  const t0 = performance.now();
  const built = await buildSearchIndexes(pool);
  if (built.length > 0) log(`  built the search index of ${built.map((b) => b.partition).join(', ')} (${Math.round((performance.now() - t0) / 1000)} s)`);
  // Each partition's table as it is stored: its rows or, packed, its batches (migration 021).
  const { rows: size } = await pool.query<{ size: string }>(`SELECT pg_size_pretty(sum(pg_total_relation_size(logs_partition_table(p)))) AS size FROM logs_partitions p`);
  return {
    database,
    pool,
    rows,
    endMs: Number(marker.end_ms),
    seedSeconds,
    seededSeconds: marker.seconds,
    size: size[0]!.size,
    packed,
    close: () => pool.end(),
  };
}

async function seed(pool: pg.Pool, total: number, log: (t: string) => void): Promise<void> {
  const c = await pool.connect();
  const t0 = performance.now();
  const elapsed = () => `${Math.round((performance.now() - t0) / 1000)} s`;
  try {
    const endS = Math.floor(Date.now() / 1000);
    const startS = endS - DAY_S;
    const { rows: settings } = await c.query<{ step: string }>(`SELECT extract(epoch FROM partition_interval)::bigint::text AS step FROM logs_storage_settings`);
    const step = Number(settings[0]!.step);
    // The partitions of the past day, created as logs_create_partitions() creates the current one (it only
    // creates partitions from now on), then the current and next ones by the function itself.
    for (let from = Math.floor(startS / step) * step; from < Math.floor(endS / step) * step; from += step) {
      const name = `logs_${new Date(from * 1000).toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '_')}`;
      await c.query(`CREATE TABLE ${name} (LIKE logs INCLUDING DEFAULTS)`);
      await c.query(`CREATE UNIQUE INDEX ${name}_event_id_key ON ${name} (event_id)`);
      await c.query(`ALTER TABLE logs ATTACH PARTITION ${name} FOR VALUES FROM (${from * ID_STEP}) TO (${(from + step) * ID_STEP})`);
      await c.query(`INSERT INTO logs_partitions (name, id_from, id_to, time_from, time_to) VALUES ($1, $2, $3, to_timestamp($4), to_timestamp($5))`, [name, from * ID_STEP, (from + step) * ID_STEP, from, from + step]);
    }
    await c.query('SELECT logs_create_partitions()');
    // Secondary indexes built once at the end instead of row by row (as the stats scenario does): the indexes of
    // the partitioned table and the per-partition event_id ones, definitions read from the catalog.
    const { rows: indexes } = await c.query<{ name: string; def: string }>(
      `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema()
         AND tablename IN (SELECT name FROM logs_partitions UNION SELECT 'logs')
         AND indexname NOT IN (SELECT conname FROM pg_constraint)
         AND indexname NOT IN (SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid)`,
    );
    for (const ix of indexes) await c.query(`DROP INDEX ${quoteIdent(ix.name)}`);
    // The rollups are counted once at the end (as migrations 002 and 017 backfill them): the insert trigger's
    // transition table spooled every row (~420 bytes) to disk once more, 379 s for 5 M rows here with it.
    await c.query('ALTER TABLE logs DISABLE TRIGGER logs_rollup_insert');
    const chunk = 1_000_000;
    for (let from = 1; from <= total; from += chunk) {
      const to = Math.min(total, from + chunk - 1);
      // Oldest first over the day; the id is the commit second's first id + i mod 2^20 (58 rows a second here), so
      // ids follow time as rows committed when they arrived (but for the 4 seconds where i mod 2^20 wraps).
      const ts = `to_timestamp(${startS} + ${DAY_S}::float8 * (i - 1) / ${total})`;
      const id = `floor(${startS} + ${DAY_S}::float8 * (i - 1) / ${total})::bigint * ${ID_STEP} + i % ${ID_STEP}`;
      await c.query(`INSERT INTO logs ${LOGS_COLUMNS} ${benchRowsSelect(id, ts, from, to)}`);
      log(`  generated ${to.toLocaleString('en')} / ${total.toLocaleString('en')} rows (${elapsed()})`);
    }
    await c.query('ALTER TABLE logs ENABLE TRIGGER logs_rollup_insert');
    await c.query(`INSERT INTO logs_per_minute (minute, level, service, n, n_at_start)
      SELECT b, level, service, count(*), count(*) FILTER (WHERE "timestamp" = b)
      FROM (SELECT date_bin('1 minute', "timestamp", timestamptz '2000-01-01 00:00:00+00') AS b, level, service, "timestamp" FROM logs) r GROUP BY 1, 2, 3`);
    await c.query(`INSERT INTO logs_per_hour (hour, level, service, n, n_at_start)
      SELECT date_bin('1 hour', minute, timestamptz '2000-01-01 00:00:00+00'), level, service, sum(n),
             coalesce(sum(n_at_start) FILTER (WHERE minute = date_bin('1 hour', minute, timestamptz '2000-01-01 00:00:00+00')), 0)
      FROM logs_per_minute GROUP BY 1, 2, 3`);
    log(`  counted the rollups (${elapsed()})`);
    await c.query(`SET maintenance_work_mem = '256MB'`);
    // pg_indexes shows a partitioned table's index as "ON ONLY logs", which would build it on no partition (and
    // leave it invalid): built on every partition instead.
    for (const ix of indexes) await c.query(ix.def.replace(' ON ONLY ', ' ON '));
    log(`  rebuilt ${indexes.length} indexes (${elapsed()})`);
    await c.query(`SELECT setval('logs_id_seq', (SELECT max(id) FROM logs))`);
    await c.query('SELECT logs_close_partitions()');
    await c.query('VACUUM ANALYZE');
    await c.query(`CREATE TABLE bench_loki_seed (version int NOT NULL, rows bigint NOT NULL, end_ms bigint NOT NULL, seconds float8 NOT NULL DEFAULT 0)`);
    await c.query(`INSERT INTO bench_loki_seed (version, rows, end_ms) VALUES ($1, $2, $3)`, [SEED_VERSION, total, endS * 1000 + 1000]);
    log(`  seeded ${total.toLocaleString('en')} rows in ${elapsed()}`);
  } finally {
    c.release();
  }
}

/**
 * The environment of a gateway reading a kept bench table: its database, with a stream, group and NOTIFY channel
 * of its own (the loki and stats scenarios' 5 M-row tables).
 */
export function keptTableEnv(database: string, name: string): Record<string, string> {
  const id = randomBytes(4).toString('hex');
  return {
    DB_HOST: PG_HOST,
    DB_PORT: String(PG_PORT),
    POSTGRES_USER: PG_USER,
    POSTGRES_DB: database,
    REDIS_HOST,
    REDIS_PORT: String(REDIS_PORT),
    REDIS_STREAM: `bench:${name}:${id}`,
    REDIS_GROUP: `group-${id}`,
    NOTIFY_CHANNEL: `logs_${id}`,
    LOG_LEVEL: 'info',
    DATABASE_URL: '',
    REDIS_URL: '',
  };
}
