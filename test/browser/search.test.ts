// The page searching a table bigger than one search window, with a gateway that answers every text search after
// one window (SEARCH_BUDGET_MS=0): it follows next_before by itself until it finds the old match, and pages back
// past stretches with no match when scrolled to the top; the histogram says which buckets it could count.
import type { Browser } from 'playwright-core';
import { DEFAULT_SEARCH } from '../../gateway/src/logs-query.js';
import { hasChromium, launchChromium } from '../helpers/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, stopAll, type Service } from '../helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env.js';

const ROWS = 300_000;
let t: TestEnv;
let gateway: Service;
let browser: Browser;

describe.skipIf(!hasChromium)('page searching past its budget', () => {
  beforeAll(async () => {
    t = await createTestEnv('browser_search');
    // Rows straight into the table: "needle" in the oldest row and in one 50,000 rows later; the newest 250,000 rows
    // (25 windows of DEFAULT_SEARCH.firstWindow, 10,000, more than the 10 requests the page makes at once) have none.
    await t.pool.query(
      `INSERT INTO logs (id, stream_id, "timestamp", received_at, level, service, message)
         SELECT nextval('logs_id_seq'), 's-' || i, now(), now(), 30, 'api',
                CASE WHEN i IN (1, 50000) THEN 'needle number ' || i ELSE 'hay ' || i END
           FROM generate_series(1, ${ROWS}) AS i`,
    );
    gateway = await startService('gateway', { ...t.env, SEARCH_BUDGET_MS: '0' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close().catch(() => {});
    await stopAll();
    await t?.cleanup();
  });

  it('finds matches that lie many search windows back', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const requests: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/logs?')) requests.push(r.url());
    });
    // A 24 h window has hour bars: the rows inserted seconds ago are in the newest one (a 15 m window's 15 s bars
    // would put them in an older bar whenever the test crosses a 15 s boundary).
    await page.goto(`${gateway.url}/ui?q=needle&window=24h`);
    const found = await waitFor('both matches in the page', async () => {
      const msgs = await page.$$eval('#rows > li .msg', (els) => els.map((e) => e.textContent ?? ''));
      return msgs.length === 2 ? msgs : undefined;
    });
    expect(found).toEqual(['needle number 1', 'needle number 50000']);
    // One window per request: it took every window down to the oldest row, each continuing below the last.
    const befores = requests.map((u) => new URL(u).searchParams.get('before')).filter((b) => b !== null).map(Number);
    expect(befores.length).toBe(Math.ceil(ROWS / DEFAULT_SEARCH.firstWindow) - 1);
    expect([...befores].sort((a, b) => b - a)).toEqual(befores);
    await waitFor('the start of the log', async () => ((await page.textContent('#top-note')) ?? '').includes('Start of the log'));
    // The histogram's count of the search had no time either: not even the newest bucket is counted (issue 11
    // point 4: parameters cannot buy more than the budget), and the page says the buckets were not counted.
    await page.waitForSelector('#stats-partial');
    expect(await page.textContent('#stats-total')).toBe('0');
    expect(await page.$$eval('#chart .bar.uncounted', (els) => els.length)).toBeGreaterThan(0);
    expect(Number(await page.getAttribute('#chart .uncounted-span', 'width'))).toBeGreaterThan(0);
    await page.close();
  });
});
