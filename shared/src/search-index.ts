// The optional trigram index for `q` (case-insensitive substring search). Off by default because it is expensive
// to maintain: measured here on 1,000-row batches, inserts went from 36,000 rows/s to 12,000-14,000 (GIN) or 18,600
// (GiST). Without it a `q` search reads rows newest first until it has `limit` matches, which is fast for common
// words and slow (seconds on millions of rows) for rare ones. Deployments that search more than they ingest turn it
// on with `npm run search-index -- on`; it is built CONCURRENTLY, so ingest goes on meanwhile.
import type pg from 'pg';

export const SEARCH_INDEX = 'logs_message_trgm_idx';

/** SQL boolean: the index exists in the current schema (also read inside a larger query by /logs?q=). */
/**
 * SQL boolean: the index exists and is valid in the current schema (also read inside a larger query by /logs?q=).
 * logs is partitioned (migration 006): the index on logs is valid once every partition's index is built and attached.
 */
export const SEARCH_INDEX_EXISTS_SQL = `EXISTS (SELECT 1 FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = '${SEARCH_INDEX}' AND c.relnamespace = current_schema()::regnamespace AND i.indisvalid)`;

export async function searchIndexEnabled(db: pg.Pool | pg.Client): Promise<boolean> {
  const { rows } = await db.query<{ exists: boolean }>(`SELECT ${SEARCH_INDEX_EXISTS_SQL} AS exists`);
  return rows[0]!.exists;
}

const PARTITIONS_WITHOUT_INDEX_SQL = `
SELECT p.relname AS partition, p.relname || '_message_trgm_idx' AS index,
       (SELECT i.indisvalid FROM pg_class ic JOIN pg_index i ON i.indexrelid = ic.oid
         WHERE ic.relname = p.relname || '_message_trgm_idx' AND ic.relnamespace = p.relnamespace) AS valid
FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhrelid
WHERE h.inhparent = 'logs'::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_inherits hi JOIN pg_class pi ON pi.oid = hi.inhparent
                  JOIN pg_index i ON i.indexrelid = hi.inhrelid
                  WHERE pi.relname = '${SEARCH_INDEX}' AND i.indrelid = p.oid)
ORDER BY p.relname`;

/**
 * CREATE INDEX CONCURRENTLY must run outside a transaction: use a plain client or pool, not inside BEGIN. logs is
 * partitioned, and a partitioned table's index cannot be built concurrently: the index on logs is created empty
 * (ON ONLY), then each partition's is built CONCURRENTLY, one at a time, and attached; an interrupted run resumes
 * where it stopped. Partitions created afterwards get theirs when they are attached (they are empty then).
 */
export async function enableSearchIndex(db: pg.Pool | pg.Client): Promise<void> {
  await db.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  await db.query(`CREATE INDEX IF NOT EXISTS ${SEARCH_INDEX} ON ONLY logs USING gin (message gin_trgm_ops)`);
  const { rows } = await db.query<{ partition: string; index: string; valid: boolean | null }>(PARTITIONS_WITHOUT_INDEX_SQL);
  for (const r of rows) {
    // A build interrupted earlier leaves an INVALID index behind; drop it so the build starts afresh.
    if (r.valid === false) await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quote(r.index)}`);
    await db.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${quote(r.index)} ON ${quote(r.partition)} USING gin (message gin_trgm_ops)`);
    await db.query(`ALTER INDEX ${SEARCH_INDEX} ATTACH PARTITION ${quote(r.index)}`);
  }
  await db.query('ANALYZE logs');
}

/** Dropping the index of a partitioned table cannot be CONCURRENTLY; it takes a moment's lock on logs. */
export async function disableSearchIndex(db: pg.Pool | pg.Client): Promise<void> {
  await db.query(`DROP INDEX IF EXISTS ${SEARCH_INDEX}`);
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
