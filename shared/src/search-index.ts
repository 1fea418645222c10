// The search index of a closed partition (issue 15 point 5): a trigram GIN index on message, which serves `q`
// (ILIKE, the same lower() matching as text-match.ts) for a partition that no longer receives rows. No search index
// takes the new rows of the partition being written: measured here on 1,000-row batches, a trigram index cut
// inserts from 36,000 rows/s to 12,000-14,000 (GIN) or 18,600 (GiST). So it is built once, after the partition
// closes, in the background by the processors' maintenance loop (or now by `npm run search-index -- build`):
// CONCURRENTLY (ingest and reads go on), one index at a time across every processor (a session advisory lock),
// newest first, and resumable: a build killed half-way leaves an INVALID index, which the next pass drops and builds
// again. Meanwhile the partition being written gets the same index in chunks of its past (partial indexes on ids no
// insert reaches any more, below), so that a search scans only its newest rows.
// It needs pg_trgm, which ships with PostgreSQL (trusted: a database owner may create it); without it searches scan
// every partition within their budget, as before.
import type pg from 'pg';

/** The index of partition `p` is named `<p>_message_trgm_idx`. */
export const SEARCH_INDEX_SUFFIX = '_message_trgm_idx';
export const searchIndexName = (partition: string) => partition + SEARCH_INDEX_SUFFIX;

/** Arbitrary constant: the session advisory lock held by the one process building a search index. */
export const SEARCH_INDEX_LOCK_KEY = 7_431_004;

/**
 * GIN builds sort the index entries in this much memory (default 64 MB); 256 MB builds it once rather than in
 * merged runs. Set for the building session only.
 */
const BUILD_MEMORY = '256MB';

/**
 * The partition being written gets its search index in chunks (SEARCH_CHUNK_ROWS): a chunk is a partial trigram
 * index on the ids of commit seconds [from, to), named `<p>_trgm_<from>_<to>`, built once those seconds are past, so
 * that a search scans only the rows since the last chunk instead of the whole partition (5 M rows over a day, 1d
 * partitions: ~3 M rows in the one being written by the afternoon, 4-5 s of scan here). Inserts never touch a chunk
 * (their ids are past its range; the partial predicate is one comparison per row). A new chunk takes in the newest
 * chunks no larger than itself, which are then dropped, so a partition holds about log2(rows / SEARCH_CHUNK_ROWS)
 * of them and a row is indexed that many times at most; once the partition closes and has its whole index, its
 * chunks go.
 */
export const chunkIndexName = (partition: string, fromSecond: number, toSecond: number) => `${partition}_trgm_${fromSecond}_${toSecond}`;
const ID_STEP = 1_048_576; // ids per commit second (migration 006)

/**
 * Rows of the partition being written left to a scan before they get a chunk: SEARCH_BUDGET_MS (50 ms) scans
 * ~30,000 rows here when the machine is quiet, a third of that loaded.
 */
export const SEARCH_CHUNK_ROWS = 10_000;

/**
 * A chunk covers seconds at least this old: a build reads the whole partition and takes a core for seconds to
 * minutes, so a stack under a burst (the bench's ingest and soak runs, a few minutes each) is not slowed by
 * chunk builds, and at 5 M rows a day the rows left to scan stay ~30,000 (5 min + a maintenance pass + SEARCH_CHUNK_ROWS).
 */
export const SEARCH_CHUNK_MIN_AGE_S = 300;

/**
 * SQL: the id ranges [id_from, id_to) readable through a valid search index: whole partitions (`whole`), and the
 * chunks of partitions without a valid whole index (a search may use only one chunk per statement: the planner
 * proves a partial index's predicate from the statement's own id range).
 */
export const INDEXED_RANGES_SQL = `
SELECT p.id_from, p.id_to, true AS whole FROM logs_partitions p
JOIN pg_index i ON i.indexrelid = to_regclass(p.name || '${SEARCH_INDEX_SUFFIX}')
WHERE i.indisvalid AND i.indrelid = to_regclass(p.name)
UNION ALL
SELECT m[1]::bigint * ${ID_STEP}, m[2]::bigint * ${ID_STEP}, false FROM (
  SELECT regexp_match(c.relname, '_trgm_(\\d+)_(\\d+)$') AS m FROM logs_partitions p
  JOIN pg_index i ON i.indrelid = to_regclass(p.name) JOIN pg_class c ON c.oid = i.indexrelid
  WHERE i.indisvalid AND starts_with(c.relname, p.name || '_trgm_')
    AND NOT EXISTS (SELECT FROM pg_index w WHERE w.indexrelid = to_regclass(p.name || '${SEARCH_INDEX_SUFFIX}') AND w.indisvalid)
) x WHERE m IS NOT NULL`;

/** Chunk indexes of each partition, valid or not (parsed from their names). */
const CHUNKS_SQL = `
SELECT p.name AS partition, c.relname AS index, i.indisvalid AS valid, m[1]::bigint AS from_s, m[2]::bigint AS to_s,
       p.closed OR p.time_from IS NULL AS closed,
       EXISTS (SELECT FROM pg_index w WHERE w.indexrelid = to_regclass(p.name || '${SEARCH_INDEX_SUFFIX}') AND w.indisvalid) AS whole
FROM logs_partitions p
JOIN pg_index i ON i.indrelid = to_regclass(p.name) JOIN pg_class c ON c.oid = i.indexrelid
CROSS JOIN LATERAL regexp_match(c.relname, '_trgm_(\\d+)_(\\d+)$') AS m
WHERE starts_with(c.relname, p.name || '_trgm_') AND m IS NOT NULL
ORDER BY p.id_from, m[1]::bigint`;

/**
 * SQL condition on partition p: due for packing with PACK_AFTER = $1 seconds (0: never), as pack.ts's
 * DUE_FOR_PACKING_SQL. Its row table is dropped by the swap, so no index is built on it (the bench's 190,000-row
 * partition: a 6.5 s build for ~60 MB of trigram index, 320 B a row: README Performance, migration 018). A packed
 * partition has no row table at all: to_regclass of its name is NULL, and it drops out of every query here.
 */
const DUE_FOR_PACKING = `($1::bigint > 0 AND p.closed AND p.time_from IS NOT NULL AND p.time_to <= now() - make_interval(secs => $1::bigint))`;

/**
 * Partitions that should have a search index (closed ones, and logs_legacy, which receives no rows) and lack a valid
 * one, but not those due for packing ($1: PACK_AFTER).
 */
const PENDING_SQL = `
SELECT p.name, i.indisvalid AS valid FROM logs_partitions p
LEFT JOIN pg_index i ON i.indexrelid = to_regclass(p.name || '${SEARCH_INDEX_SUFFIX}')
WHERE (p.closed OR p.time_from IS NULL) AND to_regclass(p.name) IS NOT NULL AND i.indisvalid IS NOT TRUE AND NOT ${DUE_FOR_PACKING}
ORDER BY p.id_from DESC`;

export interface SearchIndexState {
  partition: string;
  state: 'built' | 'pending' | 'invalid' | 'none (partition still written)' | 'none (not written yet)' | 'none (to be packed)' | 'packed';
  /** Valid chunk indexes (of the partition being written, or of a closed one until its whole index is built). */
  chunks: number;
}

/**
 * Each partition's search index. `packAfterSeconds` (PACK_AFTER): a closed partition due for packing gets none; a
 * packed partition is searched through its copy's own trigram index (`<p>_packed_trgm`, migration 018).
 */
export async function searchIndexStates(db: pg.Pool | pg.Client, packAfterSeconds = 0): Promise<SearchIndexState[]> {
  const { rows } = await db.query<{ name: string; closed: boolean; ahead: boolean; valid: boolean | null; packed: boolean; due: boolean }>(`
    SELECT p.name, (p.closed OR p.time_from IS NULL) AS closed, coalesce(p.time_from > now(), false) AS ahead, i.indisvalid AS valid,
           p.packed, ${DUE_FOR_PACKING} AS due
    FROM logs_partitions p
    LEFT JOIN pg_index i ON i.indexrelid = to_regclass(p.name || '${SEARCH_INDEX_SUFFIX}')
    WHERE to_regclass(p.name) IS NOT NULL OR p.packed ORDER BY p.id_from`, [packAfterSeconds]);
  const chunks = (await db.query<ChunkRow>(CHUNKS_SQL)).rows.filter((c) => c.valid);
  return rows.map((r) => ({
    partition: r.name,
    // A partition made ahead of time is not "still written": nothing has been written to it yet.
    state: r.packed ? 'packed' : r.valid === true ? 'built' : r.valid === false ? 'invalid' : r.due ? 'none (to be packed)' : r.closed ? 'pending' : r.ahead ? 'none (not written yet)' : 'none (partition still written)',
    chunks: chunks.filter((c) => c.partition === r.name).length,
  }));
}

export interface SearchIndexBuild {
  partition: string;
  /** An INVALID index of an interrupted build was dropped first. */
  rebuilt: boolean;
  seconds: number;
  /** A chunk of the partition being written: the commit seconds [from, to) it covers, and the chunks it took in. */
  chunk?: { fromSecond: number; toSecond: number; rows: number; replaced: string[] };
  /** Not a search index: this B-tree index of a closed partition was rebuilt full (fillfactor 100). */
  compacted?: string;
}

export interface BuildOptions {
  /** Cancels a build under way (the processor stopping): the index is left INVALID and rebuilt by the next pass. */
  signal?: AbortSignal;
  /** Rows since the last chunk that make a new one (SEARCH_CHUNK_ROWS); 0: no chunks. */
  chunkRows?: number;
  /** A chunk ends this many seconds before now (SEARCH_CHUNK_MIN_AGE_S). */
  chunkMinAgeSeconds?: number;
  /** PACK_AFTER (seconds; 0 or unset: no packing): partitions due for packing get no index. */
  packAfterSeconds?: number;
}

interface ChunkRow {
  partition: string;
  index: string;
  valid: boolean;
  from_s: string;
  to_s: string;
  closed: boolean;
  whole: boolean;
}

/**
 * Drop the chunk indexes no search reads: left INVALID by an interrupted build, inside a newer chunk that took them
 * in, or of a partition whose whole index is built. Returns their names.
 */
async function dropStaleChunks(client: pg.PoolClient): Promise<string[]> {
  const chunks = (await client.query<ChunkRow>(CHUNKS_SQL)).rows;
  const valid = chunks.filter((c) => c.valid);
  const stale = chunks.filter(
    (c) =>
      !c.valid ||
      c.whole ||
      valid.some((o) => o !== c && o.partition === c.partition && Number(o.from_s) <= Number(c.from_s) && Number(o.to_s) >= Number(c.to_s) && (Number(o.from_s) < Number(c.from_s) || Number(o.to_s) > Number(c.to_s))),
  );
  for (const c of stale) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quote(c.index)}`);
  return stale.map((c) => c.index);
}

/**
 * The next chunk of a partition being written, when `chunkRows` rows or more are past its last chunk: from there (or
 * from the start of the newest chunks no larger than it, which it takes in) to the current second.
 */
async function nextChunk(client: pg.PoolClient, chunkRows: number, minAgeSeconds: number): Promise<{ partition: string; fromSecond: number; toSecond: number; rows: number } | undefined> {
  const { rows: hot } = await client.query<{ name: string; from_s: string; to_s: string; now_s: string }>(`
    SELECT name, id_from / ${ID_STEP} AS from_s, id_to / ${ID_STEP} AS to_s, floor(extract(epoch FROM clock_timestamp()))::bigint AS now_s
    FROM logs_partitions WHERE NOT closed AND time_from IS NOT NULL AND time_from <= now() AND to_regclass(name) IS NOT NULL
    ORDER BY id_from DESC`);
  const chunks = (await client.query<ChunkRow>(CHUNKS_SQL)).rows.filter((c) => c.valid);
  const count = async (table: string, fromS: number, toS: number) =>
    Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quote(table)} WHERE id >= $1 AND id < $2`, [fromS * ID_STEP, toS * ID_STEP])).rows[0]!.n);
  for (const p of hot) {
    const toSecond = Math.min(Number(p.now_s) - minAgeSeconds, Number(p.to_s));
    const mine = chunks.filter((c) => c.partition === p.name).sort((x, y) => Number(y.from_s) - Number(x.from_s));
    let fromSecond = mine.length > 0 ? Number(mine[0]!.to_s) : Number(p.from_s);
    if (fromSecond >= toSecond) continue;
    let rows = await count(p.name, fromSecond, toSecond);
    if (rows < chunkRows) continue;
    for (const c of mine) {
      const n = await count(p.name, Number(c.from_s), Number(c.to_s));
      if (n > rows) break;
      fromSecond = Number(c.from_s);
      rows += n;
    }
    return { partition: p.name, fromSecond, toSecond, rows };
  }
  return undefined;
}

/**
 * A closed partition's B-tree indexes rebuilt full (issue 15 point 6): built row by row, their pages are left 90%
 * full at most (the default fillfactor) and ~70% for random keys (event ids); no row is added once a partition is
 * closed, so full pages cost nothing. Measured on the 5 M-row table's closed partition (2,054,514 rows, indexes
 * built at the default 90): primary key 22.5 → 20.3 B a row, (service, id) 31.6 → 28.5 B. A rebuilt index is
 * marked by its comment; REINDEX CONCURRENTLY keeps it attached to the partitioned index, and one cut short leaves
 * an INVALID `<index>_ccnew`, dropped by the next pass.
 */
const COMPACTED = 'compact';
const NEXT_COMPACT_SQL = `
SELECT c.relname AS index FROM logs_partitions p
JOIN pg_index i ON i.indrelid = to_regclass(p.name) JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
WHERE (p.closed OR p.time_from IS NULL) AND am.amname = 'btree' AND i.indisvalid AND NOT ${DUE_FOR_PACKING}
  AND coalesce(obj_description(c.oid, 'pg_class'), '') <> '${COMPACTED}'
ORDER BY p.id_from DESC, c.relname LIMIT 1`;
const STALE_REINDEX_SQL = `
SELECT c.relname AS index FROM logs_partitions p
JOIN pg_index i ON i.indrelid = to_regclass(p.name) JOIN pg_class c ON c.oid = i.indexrelid
WHERE NOT i.indisvalid AND c.relname ~ '_ccnew[0-9]*$'`;

/**
 * Build the search index of the newest closed partition that lacks one, or else the next chunk of the partition
 * being written, or else rebuild a closed partition's B-tree index full. Returns undefined when there is none, or another process holds the build lock. CREATE INDEX
 * CONCURRENTLY cannot run in a transaction: one plain session.
 */
export async function buildNextSearchIndex(pool: pg.Pool, opts: BuildOptions = {}): Promise<SearchIndexBuild | undefined> {
  const client = await pool.connect();
  let locked = false;
  let broken = false;
  try {
    locked = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [SEARCH_INDEX_LOCK_KEY])).rows[0]!.ok;
    if (!locked) return undefined;
    const pid = (client as unknown as { processID: number }).processID;
    const cancel = () => void pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
    opts.signal?.addEventListener('abort', cancel, { once: true });
    try {
      if (opts.signal?.aborted) throw new Error('search index build cancelled');
      await dropStaleChunks(client);
      const packAfter = opts.packAfterSeconds ?? 0;
      const next = (await client.query<{ name: string; valid: boolean | null }>(PENDING_SQL, [packAfter])).rows[0];
      const chunkRows = opts.chunkRows ?? SEARCH_CHUNK_ROWS;
      const chunk = next || chunkRows <= 0 ? undefined : await nextChunk(client, chunkRows, opts.chunkMinAgeSeconds ?? SEARCH_CHUNK_MIN_AGE_S);
      if (!next && !chunk) {
        for (const r of (await client.query<{ index: string }>(STALE_REINDEX_SQL)).rows) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quote(r.index)}`);
        const index = (await client.query<{ index: string }>(NEXT_COMPACT_SQL, [packAfter])).rows[0]?.index;
        if (!index) return undefined;
        const start = performance.now();
        await client.query(`ALTER INDEX ${quote(index)} SET (fillfactor = 100)`);
        await client.query(`SET maintenance_work_mem = '${BUILD_MEMORY}'`);
        await client.query(`REINDEX INDEX CONCURRENTLY ${quote(index)}`);
        await client.query('RESET maintenance_work_mem');
        await client.query(`COMMENT ON INDEX ${quote(index)} IS '${COMPACTED}'`);
        const partition = (await client.query<{ p: string }>(`SELECT indrelid::regclass::text AS p FROM pg_index WHERE indexrelid = to_regclass($1)`, [index])).rows[0]!.p;
        return { partition, rebuilt: false, seconds: (performance.now() - start) / 1000, compacted: index };
      }
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
      const start = performance.now();
      await client.query(`SET maintenance_work_mem = '${BUILD_MEMORY}'`);
      let out: SearchIndexBuild;
      if (next) {
        const index = quote(searchIndexName(next.name));
        // Left INVALID by a build that was killed or cancelled (IF NOT EXISTS would keep it): start afresh.
        if (next.valid === false) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${index}`);
        await client.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${index} ON ${quote(next.name)} USING gin (message gin_trgm_ops)`);
        out = { partition: next.name, rebuilt: next.valid === false, seconds: 0 };
      } else {
        const c = chunk!;
        // Literal bounds: the planner proves the predicate from a search's id range.
        await client.query(
          `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${quote(chunkIndexName(c.partition, c.fromSecond, c.toSecond))} ON ${quote(c.partition)}
           USING gin (message gin_trgm_ops) WHERE id >= ${c.fromSecond * ID_STEP} AND id < ${c.toSecond * ID_STEP}`,
        );
        out = { partition: c.partition, rebuilt: false, seconds: 0, chunk: { ...c, replaced: [] } };
      }
      await client.query('RESET maintenance_work_mem');
      out.seconds = (performance.now() - start) / 1000;
      // The chunks the new index makes redundant (taken in, or the whole partition's index now built).
      const dropped = await dropStaleChunks(client);
      if (out.chunk) out.chunk.replaced = dropped;
      return out;
    } finally {
      opts.signal?.removeEventListener('abort', cancel);
    }
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    if (locked && !broken) await client.query('SELECT pg_advisory_unlock($1)', [SEARCH_INDEX_LOCK_KEY]).catch(() => {});
    // After an error the session is discarded (its advisory lock and settings end with it); after a stop too: the
    // cancel is sent from another connection and may land after this build ended, on the session's next user
    // (as shared/src/pack.ts does).
    client.release(broken || opts.signal?.aborted === true);
  }
}

/** Build every missing search index, one after another (npm run search-index -- build; tests; the bench). */
export async function buildSearchIndexes(pool: pg.Pool, opts: BuildOptions = {}): Promise<SearchIndexBuild[]> {
  const done: SearchIndexBuild[] = [];
  for (;;) {
    const b = await buildNextSearchIndex(pool, opts);
    if (!b) return done;
    done.push(b);
  }
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
