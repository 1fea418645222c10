// The search index of a closed partition (issue 15 point 5): a trigram GIN index on message, which serves `q`
// (ILIKE, the same lower() matching as text-match.ts) for a partition that no longer receives rows. The partition
// being written never has one: measured here on 1,000-row batches, a trigram index cut inserts from 36,000 rows/s
// to 12,000-14,000 (GIN) or 18,600 (GiST). So it is built once, after the partition closes, in the background by
// the processors' maintenance loop (or now by `npm run search-index -- build`): CONCURRENTLY (ingest and reads go
// on), one partition at a time across every processor (a session advisory lock), newest first, and resumable: a
// build killed half-way leaves an INVALID index, which the next pass drops and builds again.
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

/** SQL: the id ranges [id_from, id_to) of the partitions whose search index is built and valid. */
export const INDEXED_RANGES_SQL = `
SELECT p.id_from, p.id_to FROM logs_partitions p
JOIN pg_index i ON i.indexrelid = to_regclass(p.name || '${SEARCH_INDEX_SUFFIX}')
WHERE i.indisvalid AND i.indrelid = to_regclass(p.name)`;

/** Partitions that should have a search index (closed ones, and logs_legacy, which receives no rows) and lack a valid one. */
const PENDING_SQL = `
SELECT p.name, i.indisvalid AS valid FROM logs_partitions p
LEFT JOIN pg_index i ON i.indexrelid = to_regclass(p.name || '${SEARCH_INDEX_SUFFIX}')
WHERE (p.closed OR p.time_from IS NULL) AND to_regclass(p.name) IS NOT NULL AND i.indisvalid IS NOT TRUE
ORDER BY p.id_from DESC`;

export interface SearchIndexState {
  partition: string;
  state: 'built' | 'pending' | 'invalid' | 'none (partition still written)';
}

export async function searchIndexStates(db: pg.Pool | pg.Client): Promise<SearchIndexState[]> {
  const { rows } = await db.query<{ name: string; closed: boolean; valid: boolean | null }>(`
    SELECT p.name, (p.closed OR p.time_from IS NULL) AS closed, i.indisvalid AS valid FROM logs_partitions p
    LEFT JOIN pg_index i ON i.indexrelid = to_regclass(p.name || '${SEARCH_INDEX_SUFFIX}')
    WHERE to_regclass(p.name) IS NOT NULL ORDER BY p.id_from`);
  return rows.map((r) => ({
    partition: r.name,
    state: r.valid === true ? 'built' : r.valid === false ? 'invalid' : r.closed ? 'pending' : 'none (partition still written)',
  }));
}

export interface SearchIndexBuild {
  partition: string;
  /** An INVALID index of an interrupted build was dropped first. */
  rebuilt: boolean;
  seconds: number;
}

export interface BuildOptions {
  /** Cancels a build under way (the processor stopping): the index is left INVALID and rebuilt by the next pass. */
  signal?: AbortSignal;
}

/**
 * Build the search index of the newest closed partition that lacks one. Returns undefined when there is none, or
 * another process holds the build lock. CREATE INDEX CONCURRENTLY cannot run in a transaction: one plain session.
 */
export async function buildNextSearchIndex(pool: pg.Pool, opts: BuildOptions = {}): Promise<SearchIndexBuild | undefined> {
  const client = await pool.connect();
  let locked = false;
  let broken = false;
  try {
    locked = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [SEARCH_INDEX_LOCK_KEY])).rows[0]!.ok;
    if (!locked) return undefined;
    const next = (await client.query<{ name: string; valid: boolean | null }>(PENDING_SQL)).rows[0];
    if (!next) return undefined;
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    const index = quote(searchIndexName(next.name));
    const start = performance.now();
    const pid = (client as unknown as { processID: number }).processID;
    const cancel = () => void pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
    opts.signal?.addEventListener('abort', cancel, { once: true });
    try {
      if (opts.signal?.aborted) throw new Error('search index build cancelled');
      // Left INVALID by a build that was killed or cancelled (IF NOT EXISTS would keep it): start afresh.
      if (next.valid === false) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${index}`);
      await client.query(`SET maintenance_work_mem = '${BUILD_MEMORY}'`);
      await client.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${index} ON ${quote(next.name)} USING gin (message gin_trgm_ops)`);
      await client.query('RESET maintenance_work_mem');
    } finally {
      opts.signal?.removeEventListener('abort', cancel);
    }
    return { partition: next.name, rebuilt: next.valid === false, seconds: (performance.now() - start) / 1000 };
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    if (locked && !broken) await client.query('SELECT pg_advisory_unlock($1)', [SEARCH_INDEX_LOCK_KEY]).catch(() => {});
    // After an error the session is discarded (its advisory lock and settings end with it).
    client.release(broken);
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
