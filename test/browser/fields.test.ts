// The page's field sidebar, histogram axis and drag-to-select, and service chips (issue 16), in Chromium against a
// real gateway on rows stored with the processor's own statement; every count is checked against PostgreSQL.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../helpers/browser.js';
import { seed } from '../helpers/seed.js';
import { startService, stopAll, waitUntilReady, type Service } from '../helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
let gateway: Service;
let browser: Browser;
const now = Date.now();

describe.skipIf(!hasChromium)('field sidebar, time axis and range drag in Chromium', () => {
  beforeAll(async () => {
    t = await createTestEnv('browser_fields');
    // Rows over the last 50 minutes, in two services, with host and status attributes.
    await seed(
      t.pool,
      t.channel,
      Array.from({ length: 300 }, (_, i) => ({
        message: `row ${i}`,
        service: i % 2 ? 'pay' : 'shop',
        ts: now - 30_000 - i * 10_000,
        attributes: { host: `web-${i % 3}`, status: i % 5 === 0 ? 502 : 200 },
      })),
    );
    gateway = await startService('gateway', { ...t.env, SEARCH_BUDGET_MS: '10000' });
    await waitUntilReady(gateway);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close().catch(() => {});
    await stopAll();
    await t?.cleanup();
  });

  async function open(query: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${gateway.url}/ui${query}`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 15_000 });
    return page;
  }
  const shownIds = (p: Page) => p.$$eval('#rows > li', (els) => els.map((e) => Number((e as HTMLElement).dataset.id)));

  it('shows the facets of the view, and a click on a value filters by it (in the URL)', async () => {
    const page = await open('?service=pay&window=1h');
    const facet = page.locator('#fields button.facet[data-field="host"][data-value="web-1"]');
    await facet.waitFor();
    const counts = (await t.pool.query(`SELECT attributes->>'host' AS v, count(*)::int AS n FROM logs WHERE service = 'pay' GROUP BY 1`)).rows;
    for (const r of counts) expect(Number(await page.getAttribute(`#fields button.facet[data-field="host"][data-value="${r.v}"]`, 'data-count'))).toBe(r.n);
    await facet.click();
    await page.waitForURL(/attr\.host=web-1/);
    const expected = (await t.pool.query(`SELECT id FROM logs WHERE service = 'pay' AND attributes->>'host' = 'web-1' ORDER BY id`)).rows.map((r) => Number(r.id));
    await waitFor('only web-1 rows', async () => JSON.stringify(await shownIds(page)) === JSON.stringify(expected));
    expect(await page.getAttribute('#fields button.facet[data-field="host"][data-value="web-1"]', 'aria-pressed')).toBe('true');
    // The status facet now counts within host=web-1.
    const s502 = (await t.pool.query(`SELECT count(*)::int AS n FROM logs WHERE service = 'pay' AND attributes->>'host' = 'web-1' AND attributes->>'status' = '502'`)).rows[0].n;
    await waitFor('status facet within the filter', async () => Number(await page.getAttribute('#fields button.facet[data-field="status"][data-value="502"]', 'data-count').catch(() => null)) === s502);
    // The active filter's chip removes it again.
    await page.click('#fields button.active-filter[data-field="host"]');
    await page.waitForURL((u) => !u.search.includes('attr.host'));
    await page.close();
  });

  it('opens with a field filter from the URL, and the service chips toggle services', async () => {
    const page = await open('?attr.status=502&window=1h');
    const expected = (await t.pool.query(`SELECT id FROM logs WHERE attributes->>'status' = '502' ORDER BY id`)).rows.map((r) => Number(r.id));
    await waitFor('only status 502 rows', async () => JSON.stringify(await shownIds(page)) === JSON.stringify(expected));
    await page.click('#service button.chip[data-service="shop"]');
    await page.waitForURL(/service=shop/);
    expect(await page.getAttribute('#service button.chip[data-service="shop"]', 'aria-pressed')).toBe('true');
    const shop = (await t.pool.query(`SELECT id FROM logs WHERE service = 'shop' AND attributes->>'status' = '502' ORDER BY id`)).rows.map((r) => Number(r.id));
    await waitFor('only shop 502 rows', async () => JSON.stringify(await shownIds(page)) === JSON.stringify(shop));
    await page.close();
  });

  it('labels the time axis and turns a drag across the bars into a time range', async () => {
    const page = await open('?window=1h');
    await page.waitForSelector('#chart-axis .tick');
    const ticks = await page.$$eval('#chart-axis .tick', (els) => els.map((e) => ({ text: e.textContent, t: (e as HTMLElement).dataset.t!, left: parseFloat((e as HTMLElement).style.left) })));
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    for (const tick of ticks) expect(tick.text).toBe(tick.t.slice(11, 16));
    // Ticks are in time order, left to right, 10 minutes apart for an hour.
    expect(ticks.map((x) => x.left)).toEqual([...ticks.map((x) => x.left)].sort((a, b) => a - b));
    expect(Date.parse(ticks[1]!.t) - Date.parse(ticks[0]!.t)).toBe(10 * 60_000);

    const box = (await page.locator('#chart').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    expect(await page.isVisible('#chart-selection')).toBe(true);
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForURL(/from=.*to=/);
    const url = new URL(page.url());
    const from = Date.parse(url.searchParams.get('from')!);
    const to = Date.parse(url.searchParams.get('to')!);
    // About 40% of the hour, rounded out to whole bars.
    expect(to - from).toBeGreaterThan(0.35 * 3_600_000);
    expect(to - from).toBeLessThan(0.5 * 3_600_000);
    await page.waitForSelector('body[data-paused="range"]');
    const expected = (await t.pool.query(`SELECT id FROM logs WHERE "timestamp" >= $1 AND "timestamp" < $2 ORDER BY id`, [new Date(from), new Date(to)])).rows.map((r) => Number(r.id));
    expect(expected.length).toBeGreaterThan(50);
    await waitFor('the range\'s rows', async () => JSON.stringify(await shownIds(page)) === JSON.stringify(expected));
    await page.close();
  });
});
