// GET /logs?q= on a table bigger than one search window, through the gateway process: with no time budget a search
// answers after one window with next_before where it stopped, and following next_before finds the oldest match.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, stopAll } from '../../test/helpers/services.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/test-env.js';
import { DEFAULT_SEARCH } from '../src/logs-query.js';

let t: TestEnv;
const ROWS = 45_000;
let top: number;

beforeAll(async () => {
  t = await createTestEnv('search_budget');
  // Rows straight into the table (this is about reading them): the first and oldest mentions the needle.
  await t.pool.query(
    `INSERT INTO logs (id, stream_id, "timestamp", received_at, level, service, message)
       SELECT nextval('logs_id_seq'), 's-' || i, now(), now(), 30, 'api', CASE WHEN i = 1 THEN 'disk Needle full' ELSE 'row ' || i END
         FROM generate_series(1, ${ROWS}) AS i`,
  );
  top = Number((await t.pool.query('SELECT max(id) AS m FROM logs')).rows[0].m);
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

async function logs(url: string, query: string): Promise<{ items: { id: number; message: string }[]; next_before: number | null; next_after: number | null }> {
  const res = await fetch(`${url}/logs${query}`);
  expect(res.status).toBe(200);
  return res.json();
}

describe('a text search on its time budget', () => {
  it('answers after one window with a cursor, and the cursors lead to the oldest match', async () => {
    const gateway = await startService('gateway', { ...t.env, SEARCH_BUDGET_MS: '0' });
    const window = DEFAULT_SEARCH.firstWindow;
    const first = await logs(gateway.url, '?q=needle');
    expect(first).toEqual({ items: [], next_before: top - window + 1, next_after: null });
    const messages: string[] = [];
    let pages = 1;
    for (let before = first.next_before; before !== null; pages++) {
      const page = await logs(gateway.url, `?q=needle&before=${before}`);
      messages.push(...page.items.map((i) => i.message));
      before = page.next_before;
    }
    expect(messages).toEqual(['disk Needle full']);
    expect(pages).toBe(Math.ceil(ROWS / window));
    // Catching up oldest first stops on its budget the same way, with next_after.
    const up = await logs(gateway.url, '?q=absent&after=0');
    expect(up).toEqual({ items: [], next_before: null, next_after: top - ROWS + window });
    await gateway.stop();
  });

  it('with time to spare (SEARCH_BUDGET_MS=10000), one request reads the whole table', async () => {
    const gateway = await startService('gateway', { ...t.env, SEARCH_BUDGET_MS: '10000' });
    const page = await logs(gateway.url, '?q=NEEDLE');
    expect(page).toMatchObject({ next_before: null, next_after: null });
    expect(page.items.map((i) => i.message)).toEqual(['disk Needle full']);
    await gateway.stop();
  });
});
