// Processors as real processes: SIGTERM finishes the batch in hand, and 1, 2 or 5 processors split the work and
// persist each event once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyToMap } from '@logstream/shared/redis.js';
import { ensureGroup } from '../src/consumer-group.js';
import { startService, stopAll, type Service } from '../../test/helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from '../../test/helpers/test-env.js';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv('procs');
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

async function xadd(prefix: string, n: number): Promise<void> {
  for (let start = 0; start < n; start += 1000) {
    const p = t.redis.pipeline();
    for (let i = start; i < Math.min(n, start + 1000); i++) {
      p.xadd(t.stream, '*', 'e', JSON.stringify({ eid: randomUUID(), message: `${prefix}-${i}`, level: 30, service: 'procs', ts: Date.now(), rt: Date.now(), attributes: {} }));
    }
    await p.exec();
  }
}

const stored = async (prefix: string) =>
  (await t.pool.query<{ message: string }>('SELECT message FROM logs WHERE message LIKE $1', [`${prefix}-%`])).rows.map((r) => r.message);

async function rowsStoredBy(p: Service): Promise<number> {
  const text = await (await fetch(`${p.url}/metrics`)).text();
  const m = /^logstream_rows_stored_total\{[^}]*\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

describe('processor processes', () => {
  it('on SIGTERM finishes and acks the batch in hand, then exits 0', async () => {
    await ensureGroup(t.redis, t.stream, t.group);
    await xadd('drain', 20_000);
    const p = await startService('processor', { ...t.env, BATCH_SIZE: '1000', BLOCK_MS: '100' });
    await waitFor('some rows', async () => (await stored('drain')).length > 0);
    expect(await p.stop()).toBe(0);
    // Everything it read was stored and acked: nothing pending, and the stored rows are exactly the delivered entries.
    const pending = (await t.redis.xpending(t.stream, t.group)) as [number];
    expect(pending[0]).toBe(0);
    const groups = (await t.redis.xinfo('GROUPS', t.stream)) as unknown[][];
    const info = Object.fromEntries(replyToMap(groups[0]!));
    const rows = await stored('drain');
    expect(rows.length).toBe(Number(info['entries-read']));
    expect(rows.length).toBeLessThan(20_000); // it stopped before the end: the drain is what was tested
    expect(new Set(rows).size).toBe(rows.length);
    // Let a new processor finish the rest.
    await startService('processor', { ...t.env, BLOCK_MS: '100' });
    await waitFor('all 20000 rows', async () => (await stored('drain')).length === 20_000, 30_000);
    await stopAll();
  });

  it.each([1, 2, 5])('%i processor(s) split the work and store each event once', async (n) => {
    const prefix = `split${n}`;
    const procs = await Promise.all(Array.from({ length: n }, () => startService('processor', { ...t.env, BATCH_SIZE: '100', BLOCK_MS: '100' })));
    await xadd(prefix, 3000);
    await waitFor(`3000 rows with ${n} processors`, async () => (await stored(prefix)).length >= 3000, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    const rows = await stored(prefix);
    expect(rows.length).toBe(3000);
    expect(new Set(rows).size).toBe(3000);
    const perProcess = await Promise.all(procs.map(rowsStoredBy));
    expect(perProcess.reduce((a, b) => a + b, 0)).toBe(3000);
    if (n > 1) expect(perProcess.filter((c) => c > 0).length).toBeGreaterThan(1);
    await stopAll();
  });
});
