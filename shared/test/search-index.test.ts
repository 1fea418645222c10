// The optional trigram index: `npm run search-index` turns it on and off; results of q never change, only speed.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../../test/helpers/seed.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/test-env.js';
import { searchIndexEnabled } from '../src/search-index.js';

const run = promisify(execFile);
let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv('search_index');
  await seed(t.pool, t.channel, Array.from({ length: 2000 }, (_, i) => ({ message: i % 250 === 3 ? `upstream TimeOut ${i}` : `request ${i} ok` })));
});
afterAll(async () => t.cleanup());

const searchIndex = (arg: string) => run(process.execPath, ['--import', 'tsx', 'cli/src/search-index.ts', arg], { env: { ...process.env, ...t.env } });
const matchesOf = async () =>
  (await t.pool.query(`SELECT id FROM logs WHERE message ILIKE '%timeout%' ORDER BY id DESC LIMIT 50`)).rows.map((r) => Number(r.id));

describe('npm run search-index', () => {
  it('builds and drops the trigram index; q finds the same rows either way, and the planner can use it', async () => {
    const without = await matchesOf();
    expect(without.length).toBe(8);
    expect((await searchIndex('status')).stdout).toContain('off');

    expect((await searchIndex('on')).stdout).toMatch(/search index on/);
    expect(await searchIndexEnabled(t.pool)).toBe(true);
    expect(await matchesOf()).toEqual(without);
    const client = await t.pool.connect();
    try {
      await client.query('SET enable_seqscan = off'); // a 2,000-row table is too small to prefer an index on its own
      const plan = (await client.query(`EXPLAIN SELECT id FROM logs WHERE message ILIKE '%zzz-absent%'`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      // logs is partitioned: the plan names each partition's index (<partition>_message_trgm_idx).
      expect(plan).toMatch(/_message_trgm_idx/);
    } finally {
      client.release();
    }
    expect((await searchIndex('on')).stdout).toContain('already on');

    expect((await searchIndex('off')).stdout).toContain('dropped');
    expect(await searchIndexEnabled(t.pool)).toBe(false);
    await expect(searchIndex('sideways')).rejects.toMatchObject({ code: 2 });
  });
});
