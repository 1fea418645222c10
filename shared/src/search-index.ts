// The optional trigram index for `q` (case-insensitive substring search). Off by default because it is expensive
// to maintain: measured here on 1,000-row batches, inserts went from 36,000 rows/s to 12,000-14,000 (GIN) or 18,600
// (GiST). Without it a `q` search reads rows newest first until it has `limit` matches, which is fast for common
// words and slow (seconds on millions of rows) for rare ones. Deployments that search more than they ingest turn it
// on with `npm run search-index -- on`; it is built CONCURRENTLY, so ingest goes on meanwhile.
import type pg from 'pg';

export const SEARCH_INDEX = 'logs_message_trgm_idx';

/** SQL boolean: the index exists in the current schema (also read inside a larger query by /logs?q=). */
export const SEARCH_INDEX_EXISTS_SQL = `EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = '${SEARCH_INDEX}')`;

export async function searchIndexEnabled(db: pg.Pool | pg.Client): Promise<boolean> {
  const { rows } = await db.query<{ exists: boolean }>(`SELECT ${SEARCH_INDEX_EXISTS_SQL} AS exists`);
  return rows[0]!.exists;
}

/** CREATE INDEX CONCURRENTLY must run outside a transaction: use a plain client or pool, not inside BEGIN. */
export async function enableSearchIndex(db: pg.Pool | pg.Client): Promise<void> {
  await db.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  // A build interrupted earlier leaves an INVALID index behind; drop it so the build starts afresh.
  const { rows } = await db.query(
    `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1 AND NOT i.indisvalid`,
    [SEARCH_INDEX],
  );
  if (rows.length > 0) await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${SEARCH_INDEX}`);
  await db.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${SEARCH_INDEX} ON logs USING gin (message gin_trgm_ops)`);
  await db.query('ANALYZE logs');
}

export async function disableSearchIndex(db: pg.Pool | pg.Client): Promise<void> {
  await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${SEARCH_INDEX}`);
}
