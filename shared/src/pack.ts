// Packing closed partitions (issue 15 point 6): once a closed partition's whole range is older than PACK_AFTER, its
// rows are replaced by their packed form, 100 rows a tuple in logs_packed (~210 B a row with its search index,
// against ~760 B as rows: migration 018). Two steps, each one transaction of its own (migrations 020 and 021):
// logs_pack_build(p) writes the copy `<p>_packed` beside the rows (seconds: ~5-10 s and a core for the bench's
// 190,000-row partition), then logs_pack_swap(p) detaches the rows, attaches the copy and renames the rows (ms, under
// an ACCESS EXCLUSIVE lock on logs, with a 500 ms lock_timeout), and logs_pack_drop_rows() drops them (021).
//
// * Many processors: one pack at a time across all of them (a session advisory lock, tried: a processor that does
//   not get it packs nothing this pass), so no two build the same copy and only one core is taken at a time; the
//   swap itself is under the maintenance lock and re-checks the copy's row count.
// * Resumable: a crash during the build leaves nothing (one transaction); a copy whose swap did not happen (a crash,
//   or a swap that timed out on its lock behind a long read) is swapped in by the next pass, or built again if the
//   swap refuses it.
// * Oldest first, one partition a pass: a build takes a core for seconds, and ingest goes on beside it.
import type pg from 'pg';
import { SQLSTATE } from './sqlstate.js';

/** Arbitrary constant: the session advisory lock held by the one process packing a partition. */
export const PACK_LOCK_KEY = 7_431_005;

/** GIN builds (the copy's trigram and event-id indexes) sort in this much memory, as search-index.ts's builds. */
const BUILD_MEMORY = '256MB';

export interface PackResult {
  partition: string;
  rows: number;
  /** Bytes of the partition as rows (heap, TOAST, indexes), and of its packed copy. */
  bytesBefore: number;
  bytesAfter: number;
  /** 0 when the copy was built by an earlier pass, which stopped before its swap (`resumed`). */
  buildSeconds: number;
  /** The swap's whole statement: the time it held (or waited for) the lock on logs. */
  swapSeconds: number;
  resumed: boolean;
}

export type PackOutcome =
  | { packed: PackResult }
  /** The swap gave up on its lock (a long read of logs): the copy is kept and swapped in by the next pass. */
  | { retry: string; reason: string };

/** SQL: closed partitions still stored as rows whose whole range ended more than $1 seconds ago, oldest first. */
export const DUE_FOR_PACKING_SQL = `
SELECT name FROM logs_partitions
WHERE $1::bigint > 0 AND closed AND NOT packed AND time_from IS NOT NULL AND time_to <= now() - make_interval(secs => $1::bigint)
  AND to_regclass(name) IS NOT NULL
ORDER BY id_from`;

export interface PackOptions {
  /** Cancels a build under way (the processor stopping): its transaction is rolled back, nothing is left. */
  signal?: AbortSignal;
}

/**
 * Pack the oldest partition due (closed, range over more than `packAfterSeconds` ago): build its copy unless one is
 * there, then swap it in. Returns undefined when none is due, packing is off (0), or another process is packing.
 */
export async function packNextPartition(pool: pg.Pool, packAfterSeconds: number, opts: PackOptions = {}): Promise<PackOutcome | undefined> {
  if (!(packAfterSeconds > 0)) return undefined;
  const client = await pool.connect();
  let locked = false;
  let broken = false;
  const pid = (client as unknown as { processID: number }).processID;
  const cancel = () => void pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
  opts.signal?.addEventListener('abort', cancel, { once: true });
  try {
    locked = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [PACK_LOCK_KEY])).rows[0]!.ok;
    if (!locked) return undefined;
    // Rows a swap renamed and a crash left undropped (migration 021).
    await client.query('SELECT logs_pack_drop_rows()');
    const name = (await client.query<{ name: string }>(`${DUE_FOR_PACKING_SQL} LIMIT 1`, [packAfterSeconds])).rows[0]?.name;
    if (!name || opts.signal?.aborted) return undefined;
    const bytesBefore = Number((await client.query<{ b: string }>('SELECT pg_total_relation_size(to_regclass($1)) AS b', [name])).rows[0]!.b);
    let resumed = (await client.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [`${name}_packed`])).rows[0]!.ok;
    let buildSeconds = 0;
    const build = async () => {
      // A stop that came before the build began: its cancel found the session idle.
      if (opts.signal?.aborted) throw new Error('pack cancelled');
      await ensureTrigram(client);
      const start = performance.now();
      // In a transaction of its own, so that the setting ends with it, and a cancelled build leaves the session
      // usable (its lock is then given back at once: a destroyed session keeps it until its backend has exited).
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL maintenance_work_mem = '${BUILD_MEMORY}'`);
        await client.query('SELECT logs_pack_build($1)', [name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
      buildSeconds = (performance.now() - start) / 1000;
    };
    if (!resumed) await build();
    let swapSeconds: number;
    try {
      swapSeconds = await swap(client, name);
    } catch (err) {
      if (!resumed || err instanceof SwapLockTimeout) throw err;
      // A copy left by an earlier pass that the swap refuses (its partition changed by hand, or a copy of an older
      // format): built again, now.
      resumed = false;
      await build();
      swapSeconds = await swap(client, name);
    }
    const rows = Number((await client.query<{ n: string }>(`SELECT coalesce(sum(row_count), 0) AS n FROM ${quote(`${name}_packed`)}`)).rows[0]!.n);
    const bytesAfter = Number((await client.query<{ b: string }>('SELECT pg_total_relation_size(to_regclass($1)) AS b', [`${name}_packed`])).rows[0]!.b);
    return { packed: { partition: name, rows, bytesBefore, bytesAfter, buildSeconds, swapSeconds, resumed } };
  } catch (err) {
    if (err instanceof SwapLockTimeout) return { retry: err.partition, reason: err.message };
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', cancel);
    if (locked) {
      // A session that cannot give its lock back (its connection broken) is discarded, which ends the lock.
      await client.query('SELECT pg_advisory_unlock($1)', [PACK_LOCK_KEY]).catch(() => {
        broken = true;
      });
    }
    // After a stop, a cancel still on its way could reach the session's next user: it is not given back to the pool.
    client.release(broken || opts.signal?.aborted === true);
  }
}

class SwapLockTimeout extends Error {
  constructor(readonly partition: string, cause: Error) {
    super(`the swap of ${partition} gave up waiting for its lock (${cause.message})`);
  }
}

async function swap(client: pg.PoolClient, name: string): Promise<number> {
  const start = performance.now();
  try {
    await client.query('SELECT logs_pack_swap($1)', [name]);
  } catch (err) {
    if ((err as { code?: string }).code === SQLSTATE.lockNotAvailable) throw new SwapLockTimeout(name, err as Error);
    throw err;
  }
  const seconds = (performance.now() - start) / 1000;
  // The swap renamed the rows to `<name>_rows`; dropped here, in a statement of its own that locks only them (in the
  // swap's transaction the drop's unlink at COMMIT held the lock on logs 105-217 ms: migration 021).
  await client.query('SELECT logs_pack_drop_rows()');
  return seconds;
}

/**
 * The copy's search index needs pg_trgm (logs_pack_build builds it only when the extension is there), created as
 * search-index.ts does; without the right to create it the copy is built without (searches of it then scan).
 */
async function ensureTrigram(client: pg.PoolClient): Promise<void> {
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm').catch(() => {});
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
