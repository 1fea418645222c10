// Search indexes of closed partitions (issue 15 point 5): built once a partition closes, never on the one being
// written; a search over closed (indexed) and hot (scanned) partitions returns exactly what one ILIKE over the whole
// table returns, for random words, and answers in one request when the matches fit a page; a build killed half-way
// leaves an INVALID index that the next build drops and builds again. Partitions of 2 seconds here.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNextSearchIndex, buildSearchIndexes, chunkIndexName, searchIndexName, searchIndexStates } from '@logstream/shared/search-index.js';
import { likePattern } from '../gateway/src/filter-sql.js';
import { parseLogsQuery, queryLogs } from '../gateway/src/logs-query.js';
import { parseStatsQuery, queryStats } from '../gateway/src/stats-query.js';
import { createLogger } from '@logstream/shared/logger.js';
import { processorMetrics } from '../processor/src/metrics.js';
import { StorageMaintenance } from '../processor/src/storage-maintenance.js';
import { lettersMessage, seed } from './helpers/seed.js';
import { createTestEnv, sleep, type TestEnv } from './helpers/test-env.js';

const run = promisify(execFile);
let t: TestEnv;
/** Partitions with rows, oldest first: two closed, the last one hot. */
let parts: string[];

// Words from few letters, so that random words are found in some messages, in some case, and not in others.
const ALPHABET = ['a', 'b', 'c', 'A', 'B', 'É', 'é', ' '];
const messageOf = (i: number) => lettersMessage(i, ALPHABET);

const nextPartition = () => sleep(2_000 - (Date.now() % 2_000) + 150);
const partitionOf = async (id: number) => (await t.pool.query<{ p: string }>('SELECT tableoid::regclass::text AS p FROM logs WHERE id = $1', [id])).rows[0]!.p;

beforeAll(async () => {
  t = await createTestEnv('search_index', { partitions: false });
  await t.pool.query(`UPDATE logs_storage_settings SET partition_interval = '2 seconds'`);
  parts = [];
  for (let p = 0; p < 3; p++) {
    await nextPartition();
    const ids = await seed(t.pool, t.channel, Array.from({ length: 150 }, (_, i) => ({ message: messageOf(p * 150 + i) })));
    expect(new Set(await Promise.all([ids[0]!, ids.at(-1)!].map(partitionOf))).size).toBe(1);
    parts.push(await partitionOf(ids[0]!));
  }
  // The first two are over; the third is still the one being written.
  await t.pool.query('SELECT logs_close_partitions()');
  await t.pool.query(`UPDATE logs_partitions SET closed = false WHERE name = $1`, [parts[2]]);
});
afterAll(async () => t.cleanup());

const stateOf = async (partition: string) => (await searchIndexStates(t.pool)).find((s) => s.partition === partition)?.state;

describe('search indexes of closed partitions', () => {
  it('npm run search-index -- build indexes the closed partitions only, newest first', async () => {
    expect(await stateOf(parts[0]!)).toBe('pending');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'cli/src/search-index.ts', 'build'], { env: { ...process.env, ...t.env } });
    expect(stdout.indexOf(`${parts[1]}: search index built`)).toBeGreaterThanOrEqual(0);
    expect(stdout.indexOf(`${parts[1]}: search index built`)).toBeLessThan(stdout.indexOf(`${parts[0]}: search index built`));
    expect(await stateOf(parts[0]!)).toBe('built');
    expect(await stateOf(parts[1]!)).toBe('built');
    expect(await stateOf(parts[2]!)).toBe('none (partition still written)');
    expect(await buildNextSearchIndex(t.pool)).toBeUndefined();
    // A partition made ahead of time says so (it used to read "still written" too).
    await t.pool.query(`SELECT logs_create_partitions('10 seconds')`);
    const ahead = (await t.pool.query<{ name: string }>(`SELECT name FROM logs_partitions WHERE time_from > now() + interval '4 seconds' ORDER BY id_from DESC LIMIT 1`)).rows[0];
    expect(ahead).toBeDefined();
    expect(await stateOf(ahead!.name)).toBe('none (not written yet)');
    // Their B-tree indexes were rebuilt full (no row is added to a closed partition), still attached to logs's.
    const { rows: btrees } = await t.pool.query<{ index: string; ff: boolean; attached: boolean }>(`
      SELECT c.relname AS index, coalesce(c.reloptions @> '{fillfactor=100}', false) AS ff,
             EXISTS (SELECT FROM pg_inherits h WHERE h.inhrelid = c.oid) AS attached
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
      WHERE i.indrelid = ANY($1::regclass[]) AND am.amname = 'btree' ORDER BY 1`, [[parts[0], parts[2]]]);
    const closedTrees = btrees.filter((b) => b.index.startsWith(parts[0]!));
    expect(closedTrees.length).toBeGreaterThanOrEqual(4);
    expect(closedTrees.every((b) => b.ff)).toBe(true);
    // The event id's unique index is the partition's own (migration 006); the others are partitions of logs's.
    expect(closedTrees.filter((b) => !b.attached).map((b) => b.index)).toEqual([`${parts[0]}_event_id_key`]);
    expect(btrees.filter((b) => b.index.startsWith(parts[2]!)).every((b) => !b.ff)).toBe(true);
    expect(stdout).toContain(`${parts[0]}_pkey rebuilt full`);
    // The planner can use it (a 150-row partition is too small to prefer it on its own).
    const c = await t.pool.connect();
    try {
      await c.query('SET enable_seqscan = off');
      const plan = (await c.query(`EXPLAIN SELECT id FROM logs WHERE message ILIKE '%abc%'`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain(searchIndexName(parts[0]!));
      expect(plan).not.toContain(searchIndexName(parts[2]!));
    } finally {
      c.release();
    }
    await expect(run(process.execPath, ['--import', 'tsx', 'cli/src/search-index.ts', 'on'], { env: { ...process.env, ...t.env } })).rejects.toMatchObject({ code: 2 });
  });

  it('a search over closed and hot partitions equals one ILIKE over the whole table, in one request when it fits', { timeout: 600_000 }, async () => {
    const reference = async (q: string) =>
      (await t.pool.query(`SELECT id FROM logs WHERE message ILIKE $1 ORDER BY id DESC`, [likePattern(q)])).rows.map((r) => Number(r.id));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 6 }), fc.constantFrom(5, 40, 1000), async (letters, limit) => {
        const q = letters.join('');
        if (q.trim() === '') return;
        const all = await reference(q);
        // Time to scan the partition being written; the closed ones are read through their index.
        const page = await queryLogs(t.pool, parseLogsQuery(new Map([['q', q], ['limit', String(limit)]])), { firstWindow: 150, budgetMs: 60_000 });
        expect(page.ids, `q=${JSON.stringify(q)}`).toEqual(all.slice(0, limit));
        if (all.length < limit) expect(page.resumeAt, `q=${JSON.stringify(q)}`).toBeUndefined();
        // No time at all: following the cursors still yields every match once, in order.
        const paged: number[] = [];
        let before: number | undefined;
        for (let n = 0; n < 100; n++) {
          const params = new Map([['q', q], ['limit', '1000'], ...(before === undefined ? [] : [['before', String(before)] as [string, string]])]);
          const p = await queryLogs(t.pool, parseLogsQuery(params), { firstWindow: 150, budgetMs: 0 });
          paged.push(...p.ids);
          before = p.ids.length === 1000 ? p.ids.at(-1) : p.resumeAt;
          if (before === undefined) break;
        }
        expect(paged, `q=${JSON.stringify(q)}`).toEqual(all);
      }),
      { numRuns: 30 },
    );
  });

  it('a build killed half-way leaves an INVALID index, which the next build drops and builds again', async () => {
    await t.pool.query(`DROP INDEX "${searchIndexName(parts[0]!)}"`);
    // A transaction holding a write lock on the partition makes CREATE INDEX CONCURRENTLY wait after it has created
    // the (invalid) index: the moment to kill it, whatever the machine's speed.
    const holder = new pg.Client({ host: t.env.DB_HOST, port: Number(t.env.DB_PORT), user: t.env.POSTGRES_USER, database: t.database });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`LOCK TABLE "${parts[0]}" IN ROW EXCLUSIVE MODE`);
      // Settled at once, so that its rejection is never unhandled while this test polls.
      const build = buildNextSearchIndex(t.pool).then(() => 'built', (err: Error) => err.message);
      let pid: number | undefined;
      for (let i = 0; i < 600 && pid === undefined; i++) {
        const { rows } = await t.pool.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'`,
        );
        pid = rows[0]?.pid;
        if (pid === undefined) await sleep(50);
      }
      expect(pid).toBeDefined();
      await t.pool.query('SELECT pg_terminate_backend($1)', [pid]);
      expect(await build).toMatch(/terminat/);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect(await stateOf(parts[0]!)).toBe('invalid');
    const again = await buildSearchIndexes(t.pool);
    expect(again).toEqual([expect.objectContaining({ partition: parts[0], rebuilt: true })]);
    expect(await stateOf(parts[0]!)).toBe('built');
    const q = 'abc';
    const page = await queryLogs(t.pool, parseLogsQuery(new Map([['q', q], ['limit', '1000']])), { firstWindow: 150, budgetMs: 60_000 });
    expect(page.ids).toEqual((await t.pool.query(`SELECT id FROM logs WHERE message ILIKE '%abc%' ORDER BY id DESC`)).rows.map((r) => Number(r.id)));
    expect(page.resumeAt).toBeUndefined();
  });

  it("the processors' maintenance pass builds a closed partition's missing index in the background", async () => {
    await t.pool.query(`DROP INDEX "${searchIndexName(parts[1]!)}"`);
    const settings = { PARTITION_INTERVAL: 2, RETENTION: 0, ROLLUP_RETENTION: 0, PACK_AFTER: 0, MAINTENANCE_INTERVAL_MS: 3_600_000, SEARCH_INDEX: 'closed' as const };
    const maintenance = new StorageMaintenance(t.pool, settings, createLogger('test', 'silent'), processorMetrics());
    try {
      await maintenance.runOnce();
      for (let i = 0; i < 600 && (await stateOf(parts[1]!)) !== 'built'; i++) await sleep(100);
      expect(await stateOf(parts[1]!)).toBe('built');
    } finally {
      await maintenance.stop();
    }
  });
});

// The partition being written gets its search index in chunks (partial indexes on past commit seconds), so that a
// search scans only the rows since the last chunk. A day partition here, rows in distinct seconds.
describe('search index chunks of the partition being written', () => {
  let c: TestEnv;
  const nextSecond = () => sleep(1_000 - (Date.now() % 1_000) + 50);
  const seedSecond = async (n: number, from: number) => {
    await nextSecond();
    const ids = await seed(c.pool, c.channel, Array.from({ length: n }, (_, i) => ({ message: messageOf(from + i) })));
    // Into a past second, so that the next chunk may take them.
    await nextSecond();
    return ids;
  };
  const chunks = async () =>
    (await c.pool.query<{ name: string }>(`SELECT indexname AS name FROM pg_indexes WHERE indexname ~ '_trgm_\\d+_\\d+$' ORDER BY indexname`)).rows.map((r) => r.name);
  const reference = async (q: string) =>
    (await c.pool.query(`SELECT id FROM logs WHERE message ILIKE $1 ORDER BY id DESC`, [likePattern(q)])).rows.map((r) => Number(r.id));

  beforeAll(async () => {
    c = await createTestEnv('search_chunks', { partitions: false });
    await c.pool.query(`UPDATE logs_storage_settings SET partition_interval = '1 day'`);
    await c.pool.query('SELECT logs_create_partitions()');
    // logs_legacy's (empty) whole index first.
    await buildSearchIndexes(c.pool, { chunkRows: 0 });
  });
  afterAll(async () => c.cleanup());

  it('a chunk covers the past seconds once enough rows are there, takes in the smaller ones, and a search reads it in one request', { timeout: 120_000 }, async () => {
    await seedSecond(120, 0);
    // Rows under SEARCH_CHUNK_MIN_AGE_S old are left to the scan, however many.
    expect(await buildNextSearchIndex(c.pool, { chunkRows: 1 })).toBeUndefined();
    expect(await buildNextSearchIndex(c.pool, { chunkRows: 200, chunkMinAgeSeconds: 0 })).toBeUndefined();
    await seedSecond(100, 120);
    const first = await buildNextSearchIndex(c.pool, { chunkRows: 200, chunkMinAgeSeconds: 0 });
    expect(first?.chunk).toMatchObject({ rows: 220, replaced: [] });
    await seedSecond(60, 220);
    const small = await buildNextSearchIndex(c.pool, { chunkRows: 50, chunkMinAgeSeconds: 0 });
    expect(small?.chunk).toMatchObject({ rows: 60, replaced: [] });
    expect((await chunks()).length).toBe(2);
    // 250 rows since: the 60-row chunk is no larger, so taken in; the 220-row one is also no larger than 310.
    await seedSecond(250, 280);
    const merged = await buildNextSearchIndex(c.pool, { chunkRows: 50, chunkMinAgeSeconds: 0 });
    expect(merged?.chunk).toMatchObject({ rows: 530 });
    expect(await chunks()).toEqual([chunkIndexName(merged!.partition, merged!.chunk!.fromSecond, merged!.chunk!.toSecond)]);
    expect(merged!.chunk!.replaced).toHaveLength(2);
    expect((await searchIndexStates(c.pool)).find((s) => s.partition === merged!.partition)).toMatchObject({ state: 'none (partition still written)', chunks: 1 });
    // 20 rows since the chunk: the first window (scan) takes them, the chunk is read through its index, and the
    // answer is whole with no time budget at all.
    await seedSecond(20, 530);
    const plan = await c.pool.connect();
    try {
      await plan.query('ANALYZE logs');
      await plan.query('SET enable_seqscan = off');
      const text = (await plan.query(`EXPLAIN SELECT id FROM logs WHERE message ILIKE '%abcabc%' AND id BETWEEN ${merged!.chunk!.fromSecond * 1_048_576} AND ${merged!.chunk!.toSecond * 1_048_576 - 1}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).toContain(chunkIndexName(merged!.partition, merged!.chunk!.fromSecond, merged!.chunk!.toSecond));
    } finally {
      plan.release();
    }
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 6 }), fc.constantFrom(5, 1000), async (letters, limit) => {
        const q = letters.join('');
        if (q.trim() === '') return;
        const all = await reference(q);
        const page = await queryLogs(c.pool, parseLogsQuery(new Map([['q', q], ['limit', String(limit)]])), { firstWindow: 20, budgetMs: 0 });
        // Only words of 3 letters or digits use an index (pg_trgm); shorter ones are scanned within the budget.
        if (!/[\p{L}\p{N}]{3}/u.test(q)) {
          expect(page.ids, `q=${JSON.stringify(q)}`).toEqual(all.slice(0, page.ids.length));
          return;
        }
        expect(page.ids, `q=${JSON.stringify(q)}`).toEqual(all.slice(0, limit));
        if (all.length < limit) expect(page.resumeAt, `q=${JSON.stringify(q)}`).toBeUndefined();
      }),
      { numRuns: 30 },
    );
    // /stats?q= counts the chunk through its index (a branch bounded by its ids) and the rest apart: the same totals.
    for (const q of ['abc', 'Ébé', 'zzz', 'a b']) {
      const r = await queryStats(c.pool, parseStatsQuery(new Map([['q', q], ['window', '1h'], ['bucket', '1m']])), Date.now(), 60_000);
      const { rows } = await c.pool.query<{ n: string }>(`SELECT count(*) AS n FROM logs WHERE message ILIKE $1 AND "timestamp" >= $2 AND "timestamp" < $3`, [likePattern(q), r.from, r.to]);
      expect({ q, total: r.total, complete: r.complete }).toEqual({ q, total: Number(rows[0]!.n), complete: true });
    }
  });
});
