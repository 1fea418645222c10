// GET /logs?q= over packed partitions (issue 15 points 5 and 6): with two closed partitions swapped for their packed
// copies (migration 021), one closed partition stored as rows (with its search index) and the partition being
// written, a search returns exactly the rows one strpos(lower(message), lower(q)) over every row taken before the
// swap returns, for random words (K and İ that lower() folds to ASCII, newlines, LIKE wildcards), with and without
// service and level filters, newest first and oldest first (`after`), paged by next_before / next_after to the end:
// nothing missing, nothing doubled, and a word whose matches fit a page answers in one request. Partitions of 2
// seconds here.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSearchIndexes } from '@logstream/shared/search-index.js';
import { parseLogsQuery, queryLogs, type SearchOptions } from '../gateway/src/logs-query.js';
import { startService, stopAll } from './helpers/services.js';
import { lettersMessage, seed } from './helpers/seed.js';
import { createTestEnv, sleep, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
/** Partitions with rows, oldest first: two packed, one closed as rows, the last one being written. */
let parts: string[];
const PER_PARTITION = 230;

const ALPHABET = ['a', 'b', 'c', 'A', 'B', 'É', 'é', ' ', '%', '_', 'k', '\u212a', 'İ', 'i', '\n'];
const SERVICES = ['api', 'web', 'auth'];
const LEVELS = [10, 20, 30, 30, 40, 50];

const nextPartition = () => sleep(2_000 - (Date.now() % 2_000) + 150);
const partitionOf = async (id: number) => (await t.pool.query<{ p: string }>('SELECT tableoid::regclass::text AS p FROM logs WHERE id = $1', [id])).rows[0]!.p;

beforeAll(async () => {
  t = await createTestEnv('packed_search', { partitions: false });
  await t.pool.query(`UPDATE logs_storage_settings SET partition_interval = '2 seconds'`);
  await t.pool.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  parts = [];
  for (let p = 0; p < 4; p++) {
    await nextPartition();
    const ids = await seed(
      t.pool,
      t.channel,
      Array.from({ length: PER_PARTITION }, (_, k) => {
        const i = p * PER_PARTITION + k;
        return { message: lettersMessage(i, ALPHABET), service: SERVICES[i % 3], level: LEVELS[i % 6] };
      }),
    );
    expect(new Set(await Promise.all([ids[0]!, ids.at(-1)!].map(partitionOf))).size).toBe(1);
    parts.push(await partitionOf(ids[0]!));
  }
  await t.pool.query('SELECT logs_close_partitions()');
  await t.pool.query(`UPDATE logs_partitions SET closed = false WHERE name = $1`, [parts[3]]);
  // The search index of the closed partitions (the third keeps it), then the first two swapped for packed copies.
  await buildSearchIndexes(t.pool, { chunkRows: 0 });
  // Every row as it was before the swap: the reference.
  await t.pool.query('CREATE TABLE reference AS SELECT * FROM logs');
  for (const p of parts.slice(0, 2)) {
    await t.pool.query('SELECT logs_pack_build($1)', [p]);
    await t.pool.query('SELECT logs_pack_swap($1)', [p]);
  }
  const { rows } = await t.pool.query<{ n: number; packed: number }>(
    `SELECT (SELECT count(*)::int FROM logs) AS n, (SELECT coalesce(sum(row_count), 0)::int FROM logs_packed) AS packed`,
  );
  expect(rows[0]).toEqual({ n: 2 * PER_PARTITION, packed: 2 * PER_PARTITION });
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

interface Case {
  q: string;
  service?: string;
  level?: string;
  after?: number;
  limit: number;
}

const reference = async (c: Case) => {
  const where = ['strpos(lower(message), lower($1)) > 0'];
  const values: unknown[] = [c.q];
  if (c.service) where.push(`service = $${values.push(c.service)}`);
  if (c.level) where.push(`level >= $${values.push({ warn: 40, error: 50 }[c.level])}`);
  if (c.after !== undefined) where.push(`id > $${values.push(c.after)}`);
  const { rows } = await t.pool.query<{ id: string }>(`SELECT id FROM reference WHERE ${where.join(' AND ')} ORDER BY id ${c.after === undefined ? 'DESC' : 'ASC'}`, values);
  return rows.map((r) => Number(r.id));
};

/** Every page of a search, following the cursor as GET /logs gives it (app.ts: the last id of a full page, else resumeAt). */
async function follow(c: Case, search: SearchOptions): Promise<{ ids: number[]; requests: number }> {
  const ids: number[] = [];
  let cursor: number | undefined;
  for (let requests = 1; requests <= 500; requests++) {
    const params = new Map<string, string>([['q', c.q], ['limit', String(c.limit)]]);
    if (c.service) params.set('service', c.service);
    if (c.level) params.set('level', c.level);
    if (c.after !== undefined) params.set('after', String(cursor ?? c.after));
    else if (cursor !== undefined) params.set('before', String(cursor));
    const page = await queryLogs(t.pool, parseLogsQuery(params), search);
    ids.push(...page.ids);
    cursor = page.ids.length === c.limit || page.cut ? page.ids.at(-1) : page.resumeAt;
    if (cursor === undefined) return { ids, requests };
  }
  throw new Error(`no end after 500 requests: ${JSON.stringify(c)}`);
}

describe('a search over packed, closed and hot partitions', () => {
  it('equals one strpos(lower(message), lower(q)) over every row taken before the swap, for random words and filters', { timeout: 600_000 }, async () => {
    const { rows: msgs } = await t.pool.query<{ message: string }>('SELECT message FROM reference ORDER BY id');
    const allIds = (await t.pool.query<{ id: string }>('SELECT id FROM reference ORDER BY id')).rows.map((r) => Number(r.id));
    const word = fc.oneof(
      fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 4 }).map((l) => l.join('')),
      // Taken from the messages: found, in the packed batches too (a message's row number is in it).
      fc.tuple(fc.nat(msgs.length - 1), fc.nat(16), fc.integer({ min: 2, max: 6 })).map(([i, at, n]) => msgs[i]!.message.slice(at, at + n)),
    );
    const testCase = fc.record({
      q: word,
      service: fc.option(fc.constantFrom(...SERVICES), { nil: undefined }),
      level: fc.option(fc.constantFrom('warn', 'error'), { nil: undefined }),
      // Oldest first from the start, or from within a packed partition.
      after: fc.option(fc.constantFrom(0, allIds[100]!, allIds[PER_PARTITION + 7]!), { nil: undefined }),
      limit: fc.constantFrom(3, 40, 1000),
    });
    await fc.assert(
      fc.asyncProperty(testCase, fc.constantFrom(0, 60_000), async (c, budgetMs) => {
        if (c.q === '') return;
        const want = await reference(c);
        // First windows of 1 batch and 50 rows, so that every kind of window is crossed.
        const got = await follow(c, { firstWindow: 50, budgetMs, firstBatches: 1 });
        expect(got.ids, JSON.stringify({ c, budgetMs })).toEqual(want);
        // With time to spare, matches that fit a page come in one request (a word of 3 letters or digits in a row: the
        // others scan the rows within the budget, here at most a few windows).
        if (budgetMs > 0 && want.length < c.limit && /[\p{L}\p{N}]{3}/u.test(c.q)) expect(got.requests, JSON.stringify(c)).toBe(1);
      }),
      { numRuns: 80 },
    );
  });

  it('through the gateway: GET /logs?q= finds the packed rows, in one request', async () => {
    const gateway = await startService('gateway', t.env);
    try {
      for (const q of ['m33', 'm12 ', 'M45', 'm460 ', 'bab']) {
        const res = await fetch(`${gateway.url}/logs?q=${encodeURIComponent(q)}&limit=1000`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { items: { id: number }[]; next_before: number | null };
        expect(body.items.map((i) => i.id), q).toEqual(await reference({ q, limit: 1000 }));
        expect(body.next_before).toBeNull();
      }
    } finally {
      await gateway.stop();
    }
  });
});
