// The live-tail page in a real browser (Debian's Chromium driven by playwright-core) against the real stack started
// as processes: producer, processor and gateway on their own database, stream and channel (createTestEnv).
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, hasChromium, launchChromium } from '../helpers/browser.js';
import { freePort } from '../helpers/free-port.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startService, stopAll, waitUntilReady, type Service } from '../helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env.js';

const OUT = 'test-output';
if (!hasChromium) console.warn(`${CHROMIUM} is missing: browser tests skipped (.ci/run installs it with apt-get install chromium)`);

let t: TestEnv;
let producer: Service;
let gateway: Service;
let gatewayPort: number;
let browser: Browser;
let page: Page;
let dialogs: string[] = [];
let run = 0;

interface Ev {
  message: string;
  service?: string;
  level?: string;
}

async function send(events: Ev[]): Promise<void> {
  const res = await fetch(`${producer.url}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
  expect(res.status).toBe(202);
}

/** Open the page and wait until it is live. */
async function open(query = ''): Promise<Page> {
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  dialogs = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`http://127.0.0.1:${gatewayPort}/ui${query}`);
  await page.waitForSelector('#status[data-state="live"]', { timeout: 15_000 });
  return page;
}

/** Messages of the rows in the tail, top to bottom. */
const shown = (p: Page) => p.$$eval('#rows > li .msg', (els) => els.map((e) => e.textContent ?? ''));
const shownIds = (p: Page) => p.$$eval('#rows > li', (els) => els.map((e) => Number((e as HTMLElement).dataset.id)));

async function waitShown(p: Page, messages: string[], timeoutMs = 15_000): Promise<string[]> {
  return waitFor(`rows ${messages.slice(0, 3).join(', ')}…`, async () => {
    const now = await shown(p);
    return messages.every((m) => now.includes(m)) ? now : undefined;
  }, timeoutMs, 100);
}

const snap = (name: string) => page.screenshot({ path: `${OUT}/${name}.png` });

describe.skipIf(!hasChromium)('live-tail page in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    t = await createTestEnv('browser');
    gatewayPort = await freePort();
    const env = { ...t.env, BLOCK_MS: '100', POLL_INTERVAL_MS: '500' };
    [producer, gateway] = await Promise.all([startService('producer', env), startService('gateway', { ...env, PORT: String(gatewayPort) }), startService('processor', env)]);
    await waitUntilReady(producer);
    browser = await launchChromium();
  });

  afterEach(async () => {
    await page?.close().catch(() => {});
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await stopAll();
    await t?.cleanup();
  });

  it('shows an event sent to /send, newest at the bottom, and expands it', async () => {
    await open();
    const tag = `first-${++run}`;
    await send([{ message: `${tag} a` }, { message: `${tag} b`, level: 'warn', service: 'api' }]);
    const rows = await waitShown(page, [`${tag} a`, `${tag} b`]);
    expect(rows.indexOf(`${tag} a`)).toBeLessThan(rows.indexOf(`${tag} b`));
    expect(rows[rows.length - 1]).toBe(`${tag} b`);
    await page.click(`#rows > li:last-child .sum`);
    const details = await page.textContent('#rows > li:last-child .details');
    expect(details).toContain('received_at');
    expect(details).toContain('api');
    expect(await page.getAttribute('#rows > li:last-child .sum', 'aria-expanded')).toBe('true');
    await snap('first-event');
  });

  it('renders markup in a message as text and runs nothing', async () => {
    await open();
    const evil = `<img src=x onerror=alert(1)> xss-${++run}`;
    await send([{ message: evil }, { message: `<script>alert(2)</script> xss-${run}` }]);
    await waitShown(page, [evil, `<script>alert(2)</script> xss-${run}`]);
    await page.waitForTimeout(300);
    expect(await page.$$('#rows img, #rows script')).toHaveLength(0);
    expect(dialogs).toEqual([]);
    await snap('xss-as-text');
  });

  it('filters by level, service (from the URL) and text, and highlights without filtering', async () => {
    const tag = `filt-${++run}`;
    await open(`?service=svc-a`);
    expect(await page.$$eval('#service button.chip[aria-pressed="true"]', (bs) => bs.map((b) => (b as HTMLElement).dataset.service))).toEqual(['svc-a']);
    await send([
      { message: `${tag} a-info`, service: 'svc-a', level: 'info' },
      { message: `${tag} b-info`, service: 'svc-b', level: 'info' },
      { message: `${tag} a-error`, service: 'svc-a', level: 'error' },
    ]);
    let rows = await waitShown(page, [`${tag} a-info`, `${tag} a-error`]);
    expect(rows).not.toContain(`${tag} b-info`);

    await page.selectOption('#level', 'error');
    await page.waitForURL(/level=error/);
    await page.waitForSelector('#status[data-state="live"]');
    await send([{ message: `${tag} a-warn2`, service: 'svc-a', level: 'warn' }, { message: `${tag} a-fatal2`, service: 'svc-a', level: 'fatal' }]);
    rows = await waitShown(page, [`${tag} a-error`, `${tag} a-fatal2`]);
    expect(rows).not.toContain(`${tag} a-warn2`);
    expect(rows).not.toContain(`${tag} a-info`);

    await page.fill('#q', 'FATAL2');
    await page.waitForURL(/q=FATAL2/);
    await waitFor('only the text match', async () => {
      const r = await shown(page);
      return r.length === 1 && r[0] === `${tag} a-fatal2`;
    });

    // Highlight marks, and does not filter.
    await page.fill('#q', '');
    await page.selectOption('#level', '');
    await waitShown(page, [`${tag} a-info`, `${tag} a-error`]);
    await page.fill('#hl', 'a-err');
    const marks = await page.$$eval('#rows mark', (m) => m.map((e) => e.textContent));
    expect(marks).toEqual(['a-err']);
    expect(await shown(page)).toContain(`${tag} a-info`);
    expect(page.url()).toContain('hl=a-err');
    await snap('filters');
  });

  it('pauses without losing rows, counts them, and shows them in order on resume', async () => {
    await open();
    const tag = `pause-${++run}`;
    await send([{ message: `${tag} before` }]);
    await waitShown(page, [`${tag} before`]);
    await page.click('#pause');
    expect(await page.getAttribute('#pause', 'aria-pressed')).toBe('true');
    const during = Array.from({ length: 5 }, (_, i) => `${tag} during-${i}`);
    await send(during.map((message) => ({ message })));
    await page.waitForFunction(() => document.getElementById('new')?.textContent === '5 new', undefined, { timeout: 15_000 });
    expect((await shown(page)).filter((m) => m.startsWith(tag))).toEqual([`${tag} before`]);
    await snap('paused');
    await page.click('#pause');
    const rows = (await waitShown(page, during)).filter((m) => m.startsWith(tag));
    expect(rows).toEqual([`${tag} before`, ...during]);
    expect(await page.isHidden('#new')).toBe(true);
  });

  it('pauses when scrolled up, and "Jump to latest" shows what came meanwhile', async () => {
    const tag = `scroll-${++run}`;
    await open(`?service=${tag}`);
    const first = Array.from({ length: 80 }, (_, i) => ({ message: `${tag} ${i}`, service: tag }));
    await send(first);
    await waitShown(page, [`${tag} 79`]);
    await page.hover('#tail');
    await page.mouse.wheel(0, -400);
    await page.waitForSelector('#pause[aria-pressed="true"]');
    expect(await page.getAttribute('body', 'data-paused')).toBe('scroll');
    await send([{ message: `${tag} late-0`, service: tag }, { message: `${tag} late-1`, service: tag }]);
    await page.waitForFunction(() => document.getElementById('new')?.textContent === '2 new', undefined, { timeout: 15_000 });
    expect(await shown(page)).not.toContain(`${tag} late-0`);
    await page.click('#latest');
    const rows = await waitShown(page, [`${tag} late-0`, `${tag} late-1`]);
    expect(rows.slice(-3)).toEqual([`${tag} 79`, `${tag} late-0`, `${tag} late-1`]);
    expect(await page.getAttribute('#pause', 'aria-pressed')).toBe('false');
  });

  it('resumes after a gateway restart on the same port with nothing missing or doubled', async () => {
    await open();
    const tag = `restart-${++run}`;
    const before = Array.from({ length: 3 }, (_, i) => `${tag} before-${i}`);
    await send(before.map((message) => ({ message })));
    await waitShown(page, before);

    await gateway.stop();
    await page.waitForSelector('#status[data-state="reconnecting"]', { timeout: 10_000 });
    // Stored while no gateway runs: the page must fetch them from its cursor when it reconnects.
    const down = Array.from({ length: 5 }, (_, i) => `${tag} down-${i}`);
    await send(down.map((message) => ({ message })));
    await waitFor('rows stored while the gateway is down', async () => {
      const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM logs WHERE message LIKE $1`, [`${tag} down-%`]);
      return rows[0].n === 5;
    });
    await snap('reconnecting');
    gateway = await startService('gateway', { ...t.env, POLL_INTERVAL_MS: '500', PORT: String(gatewayPort) });
    expect(gateway.port).toBe(gatewayPort);
    await page.waitForSelector('#status[data-state="resumed"]', { timeout: 20_000 });
    const after = Array.from({ length: 3 }, (_, i) => `${tag} after-${i}`);
    await send(after.map((message) => ({ message })));
    const rows = (await waitShown(page, [...down, ...after])).filter((m) => m.startsWith(tag));
    expect(rows).toEqual([...before, ...down, ...after]);
    const ids = await shownIds(page);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    await snap('resumed');
  });

  it('draws a histogram whose counts match what was sent, and narrows the tail on a level or bar click', async () => {
    const service = `histo-${++run}`;
    await open(`?service=${service}`);
    const levels = ['info', 'info', 'info', 'warn', 'warn', 'error', 'debug'];
    await send(levels.map((level, i) => ({ message: `h ${i}`, service, level })));
    await waitShown(page, levels.map((_, i) => `h ${i}`));
    // Live counts (added from received rows) …
    await page.waitForFunction(() => document.getElementById('stats-total')?.dataset.count === '7', undefined, { timeout: 15_000 });
    const byLevel = async () => page.$$eval('.level-count', (bs) => Object.fromEntries(bs.map((b) => [(b as HTMLElement).dataset.level, Number(b.querySelector('.n')!.textContent)])));
    const expected = { trace: 0, debug: 1, info: 3, warn: 2, error: 1, fatal: 0 };
    expect(await byLevel()).toEqual(expected);
    const barSum = await page.$$eval('#chart g.bar', (gs) => gs.reduce((s, g) => s + Number((g as SVGGElement).dataset.total), 0));
    expect(barSum).toBe(7);
    await snap('histogram');
    // … and the server's, after a reload.
    await page.reload();
    await page.waitForFunction(() => document.getElementById('stats-total')?.dataset.count === '7', undefined, { timeout: 15_000 });
    expect(await byLevel()).toEqual(expected);

    await page.click('.level-count[data-level="warn"]');
    await page.waitForURL(/level=warn/);
    await waitFor('only warn and above', async () => {
      const r = await shown(page);
      return r.length === 3 ? r : undefined;
    });
    expect((await shown(page)).sort()).toEqual(['h 3', 'h 4', 'h 5']);

    // A bar narrows the tail to its time slice: exactly the rows it counts.
    await page.waitForFunction(() => document.getElementById('stats-total')?.dataset.count === '3', undefined, { timeout: 15_000 });
    const bar = page.locator('#chart g.bar:not([data-total="0"])').last();
    const barTotal = Number(await bar.getAttribute('data-total'));
    expect(barTotal).toBeGreaterThan(0);
    await bar.click();
    await page.waitForURL(/from=.*to=/);
    await waitFor('the bar\'s rows', async () => (await shown(page)).length === barTotal);
    expect(await page.getAttribute('body', 'data-paused')).toBe('range');
    await snap('bar-range');
  });

  it('opens a permalink in context and continues live from there', async () => {
    const tag = `perm-${++run}`;
    await send(Array.from({ length: 30 }, (_, i) => ({ message: `${tag} ${i}`, service: 'perm' })));
    const id = await waitFor('the 30 rows stored', async () => {
      const { rows } = await t.pool.query<{ id: string; message: string }>(`SELECT id, message FROM logs WHERE message LIKE $1`, [`${tag} %`]);
      return rows.length === 30 ? Number(rows.find((r) => r.message === `${tag} 15`)!.id) : undefined;
    });
    await open(`?service=perm&id=${id}`);
    await page.waitForSelector(`#rows > li.target[data-id="${id}"] .details`);
    const r = await shown(page);
    expect(r).toContain(`${tag} 0`);
    expect(r).toContain(`${tag} 29`);
    // Continues live from there: new rows wait below while the row is open, and Resume shows them.
    await send([{ message: `${tag} later`, service: 'perm' }]);
    await page.waitForFunction(() => document.getElementById('new')?.textContent === '1 new', undefined, { timeout: 15_000 });
    await snap('permalink');
    await page.click('#latest');
    await waitShown(page, [`${tag} later`]);
    expect(page.url()).not.toContain('id=');
  });

  it('keeps at most 10,000 rows and stays responsive when 12,000 arrive at once', async () => {
    await open('?service=bulk');
    const events = Array.from({ length: 12_000 }, (_, i) => ({ message: `bulk ${i}`, service: 'bulk' }));
    await send(events.slice(0, 6000));
    await send(events.slice(6000));
    await waitShown(page, ['bulk 11999'], 30_000);
    const ids = await shownIds(page);
    expect(ids.length).toBeLessThanOrEqual(10_000);
    expect(new Set(ids).size).toBe(ids.length);
    expect((await shown(page))[ids.length - 1]).toBe('bulk 11999');
    expect(await page.textContent('#cap')).toContain('10,000');
    // History: scrolling above the first row loads the rows before it, in order.
    const firstBefore = ids[0]!;
    await page.$eval('#tail', (m) => (m.scrollTop = 0));
    await waitFor('older rows above the first', async () => (await shownIds(page))[0]! < firstBefore);
    const withHistory = await shownIds(page);
    expect([...withHistory].sort((a, b) => a - b)).toEqual(withHistory);
    expect(new Set(withHistory).size).toBe(withHistory.length);
    expect(withHistory.length).toBeLessThanOrEqual(10_000);
    // Back to the tail: the newest rows (moved aside to keep the cap while reading history) are shown again.
    await page.click('#latest');
    await waitFor('the newest row back at the bottom', async () => (await shown(page)).at(-1) === 'bulk 11999');
    expect((await shownIds(page)).length).toBeLessThanOrEqual(10_000);
    // The page still answers input promptly.
    const t0 = Date.now();
    await page.click('#pause');
    await page.waitForSelector('#pause[aria-pressed="true"]');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
