// Dead letters end to end (issue 4): entries that cannot be stored reach ${REDIS_STREAM}:dlq with their reason while
// the rest of their batch is stored; `npm run dlq` lists, shows, replays (with a fix) and purges them.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, stopAll } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
let t: TestEnv;

beforeAll(async () => {
  t = await createTestEnv('dlq');
  await startService('processor', { ...t.env, MAX_DELIVERIES: '2', CLAIM_IDLE_MS: '200', CLAIM_INTERVAL_MS: '200', BLOCK_MS: '100' });
});

afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

function dlq(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'cli/src/dlq.ts', ...args], { cwd: ROOT, env: { ...process.env, ...t.env }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dlqLen = () => t.redis.xlen(`${t.stream}:dlq`);
const stored = async (service: string) =>
  (await t.pool.query<{ message: string; level: number }>('SELECT message, level FROM logs WHERE service = $1 ORDER BY id', [service])).rows;

describe('dead letters and npm run dlq', () => {
  let badLevelId: string;
  let nulRawId: string;
  let nulJsonId: string;

  it('moves poison entries to the DLQ with their reason and stores the rest of the batch', async () => {
    // Written straight to the stream, bypassing the producer's validation, in one batch with good entries.
    const tx = t.redis.multi();
    tx.xadd(t.stream, '*', 'message', 'good raw 1', 'service', 'dlq-good');
    tx.xadd(t.stream, '*', 'message', 'bad level', 'level', 'loud', 'service', 'dlq-fix');
    tx.xadd(t.stream, '*', 'message', 'nul\u0000raw', 'service', 'dlq-nul');
    // Producer format with a NUL escape: passed through to PostgreSQL, which rejects it (SQLSTATE 22P05).
    tx.xadd(t.stream, '*', 'e', JSON.stringify({ eid: '7d1c2a4e-0000-4000-8000-000000000001', message: 'nul\u0000json', level: 30, service: 'dlq-nul', ts: Date.now(), rt: Date.now(), attributes: {} }));
    tx.xadd(t.stream, '*', 'message', 'good raw 2', 'service', 'dlq-good');
    const ids = ((await tx.exec()) ?? []).map(([, id]) => String(id));
    [, badLevelId, nulRawId, nulJsonId] = ids as [string, string, string, string];

    await waitFor('3 dead letters', async () => (await dlqLen()) === 3, 20_000);
    expect((await stored('dlq-good')).map((r) => r.message)).toEqual(['good raw 1', 'good raw 2']);
    const pending = (await t.redis.xpending(t.stream, t.group)) as unknown[];
    expect(Number(pending[0])).toBe(0);
  });

  it('lists and shows dead letters', async () => {
    const list = dlq('list');
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/^3 dead letter\(s\)/);
    for (const id of [badLevelId, nulRawId, nulJsonId]) expect(list.out).toContain(`\t${id}\t`);
    expect(list.out).toMatch(/unknown level "loud"/);
    expect(list.out).toMatch(/NUL/);
    // Rejected by PostgreSQL after MAX_DELIVERIES=2 attempts; undecodable ones at once.
    const jsonLine = list.out.split('\n').find((l) => l.includes(nulJsonId))!;
    expect(jsonLine).toMatch(/\t2\t.*rejected by PostgreSQL/);

    const dlqId = list.out.split('\n').find((l) => l.includes(badLevelId))!.split('\t')[0]!;
    const show = dlq('show', dlqId);
    expect(show.code, show.err).toBe(0);
    const entry = JSON.parse(show.out);
    expect(entry).toMatchObject({ id: dlqId, originalId: badLevelId, deliveries: 1 });
    expect(entry.fields).toEqual(['message', 'bad level', 'level', 'loud', 'service', 'dlq-fix']);
    const missing = dlq('show', '1-1');
    expect(missing.code).toBe(1);
    expect(missing.err.trim()).toBe(`no dead letter 1-1 in ${t.stream}:dlq`);
    // Not an id at all: what ids look like, not Redis's "ERR Invalid stream ID".
    for (const args of [['show', 'abc'], ['replay', dlqId, '12x']]) {
      const bad = dlq(...args);
      expect(bad.code).toBe(2);
      expect(bad.err.trim()).toBe(`dlq: "${args[args.length - 1]}" is not a dead-letter id: ids look like 1764180000000-0 (the first column of \`npm run dlq -- list\`)`);
    }
    expect(await dlqLen()).toBe(3);
    // Five runs of the CLI, a node start-up each: bounded generously, the speed is not what is tested.
  }, 180_000);

  it('replays a fixed dead letter to the stream, where it is stored, and deletes it from the DLQ', async () => {
    const dlqId = dlq('list').out.split('\n').find((l) => l.includes(badLevelId))!.split('\t')[0]!;
    const r = dlq('replay', dlqId, '--set', 'level=warn');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/1 dead letter\(s\) replayed/);
    await waitFor('the fixed entry stored', async () => (await stored('dlq-fix')).length === 1);
    expect(await stored('dlq-fix')).toEqual([{ message: 'bad level', level: 40 }]);
    expect(await dlqLen()).toBe(2);
  });

  it('replays --all unchanged: entries still bad come back as new dead letters', async () => {
    const r = dlq('replay', '--all');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/2 dead letter\(s\) replayed/);
    await waitFor('2 dead letters again', async () => {
      const list = dlq('list');
      return list.out.startsWith('2 dead letter(s)') && !list.out.includes(`\t${nulRawId}\t`);
    }, 20_000);
    expect(await stored('dlq-nul')).toEqual([]);
  });

  it('purges only with --yes', async () => {
    const refused = dlq('purge');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/--yes/);
    expect(await dlqLen()).toBe(2);
    const r = dlq('purge', '--yes');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^2 dead letter\(s\) deleted/);
    expect(await dlqLen()).toBe(0);
    expect(dlq('frobnicate').code).toBe(2);
  });
});
