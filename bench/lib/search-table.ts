// The stats scenario's search over 5 M rows (issue 15 point 5: "a rare word (0.01% of rows) and an absent word over
// 5 M rows answer completely in one request, p95 ≤ 100 ms"). Its own database, seeded by the loki scenario's
// generator (bench/lib/loki-table.ts: 24 h of rows in day partitions, kept across runs) and given its search indexes
// as the processors give them (shared/src/search-index.ts): the closed partition's whole index, and chunks of the
// partition being written. The loki scenario's table is not used: building indexes on it would change what that
// scenario measures. Each run adds a tail of fresh rows, fewer than a chunk, into the partition being written (the
// rows a search scans), and they stay: the next runs' builds take them into a chunk as the processors would.
// Closed partitions are packed (issue 15 point 6: lokiTable's `pack`, logs_pack_build then logs_pack_swap) before the
// indexes are built, once: a kept table's packed partitions stay packed, and a partition that closed since the last
// run is packed in this one. Seeded over the 24 h before the first run, the table's closed part is the day before
// that run's: 887,558 of 5,000,000 rows for a run at 19:44 UTC.
import { buildSearchIndexes, type SearchIndexBuild } from '@logstream/shared/search-index.js';
import { keptTableEnv, lokiTable, type PackedPart, type SeededTable } from './loki-table.js';
import { benchRowsSelect, LOGS_COLUMNS } from './payload.js';
import { round } from './results.js';

export const SEARCH_DATABASE = 'logstream_bench_search';
/** Rows added to the partition being written each run: fewer than SEARCH_CHUNK_ROWS, so scanned by a search. */
export const TAIL_ROWS = 5_000;

export interface SearchTable {
  table: SeededTable;
  builds: SearchIndexBuild[];
  buildSeconds: number;
  /** The packed partitions (all of them, packed in this run or before). */
  packed: PackedState;
  /** Rows of the partition being written that no chunk covers (the search scans them). */
  tailRows: number;
  totalRows: number;
  env: Record<string, string>;
}

export interface PackedState extends PackedPart {
  batches: number;
  /** Bytes of the copies' trigram indexes ÷ their rows (part of bytesPerRow). */
  searchIndexBytesPerRow: number;
}

export async function searchTable(rows: number, log: (t: string) => void): Promise<SearchTable> {
  // Closed partitions packed before any search index is built on their rows (lokiTable's `pack`).
  const table = await lokiTable(SEARCH_DATABASE, rows, log, { pack: true });
  const db = table.pool;
  // What the processors' maintenance pass does: partitions for now, closing those whose time is over.
  await db.query('SELECT logs_create_partitions()');
  await db.query('SELECT logs_close_partitions()');
  // The tail: bench rows numbered past the seeded ones (and past earlier runs' tails), ids of this second on.
  const added = async () =>
    Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM logs WHERE id >= logs_id_floor(to_timestamp($1::float8 / 1000))`, [table.endMs])).rows[0]!.n);
  const from = table.rows + (await added()) + 1;
  await db.query(`SELECT setval('logs_id_seq', greatest((SELECT last_value FROM logs_id_seq), logs_id_floor(now())))`);
  await db.query(`INSERT INTO logs ${LOGS_COLUMNS} ${benchRowsSelect(`nextval('logs_id_seq')`, 'now()', from, from + TAIL_ROWS - 1)}`);
  const { rows: copies } = await db.query<{ batches: string; search: string }>(
    `SELECT (SELECT count(*) FROM logs_packed)::text AS batches, coalesce(sum(pg_relation_size(to_regclass(name || '_packed_trgm'))), 0)::text AS search
     FROM logs_partitions WHERE packed`,
  );
  const packed: PackedState = {
    ...table.packed,
    bytesPerRow: round(table.packed.bytesPerRow),
    batches: Number(copies[0]!.batches),
    searchIndexBytesPerRow: table.packed.rows > 0 ? round(Number(copies[0]!.search) / table.packed.rows) : 0,
  };
  const start = performance.now();
  log('  building the search indexes missing (closed partitions whole, chunks of the one being written)…');
  const builds = await buildSearchIndexes(db);
  const buildSeconds = (performance.now() - start) / 1000;
  for (const b of builds) log(`  built ${b.chunk ? `a chunk of ${b.chunk.rows.toLocaleString('en')} rows of` : 'the whole search index of'} ${b.partition} in ${Math.round(b.seconds * 10) / 10} s`);
  await db.query('ANALYZE logs');
  // The tail: past the closed partitions and the newest chunk.
  const { rows: counts } = await db.query<{ tail: string }>(`
    SELECT (SELECT count(*) FROM logs WHERE id >= greatest(
              (SELECT max(id_to) FROM logs_partitions WHERE closed),
              (SELECT max((regexp_match(relname, '_trgm_\\d+_(\\d+)$'))[1]::bigint) * 1048576 FROM pg_class)))::text AS tail`);
  const env = keptTableEnv(SEARCH_DATABASE, 'search');
  return { table, builds, buildSeconds, packed, tailRows: Number(counts[0]!.tail), totalRows: table.rows + (await added()), env };
}
