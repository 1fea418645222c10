// The page with READ_TOKENS set: opened as /ui?token=…, it passes the token to /logs, /stats and /live.
import type { Browser } from 'playwright-core';
import { hasChromium, launchChromium } from '../helpers/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, stopAll, waitUntilReady, type Service } from '../helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env.js';

const TOKEN = 'read-token-for-the-page';
let t: TestEnv;
let producer: Service;
let gateway: Service;
let browser: Browser;

describe.skipIf(!hasChromium)('page with a read token', () => {
  beforeAll(async () => {
    t = await createTestEnv('browser_token');
    const env = { ...t.env, BLOCK_MS: '100' };
    [producer, gateway] = await Promise.all([startService('producer', env), startService('gateway', { ...env, READ_TOKENS: TOKEN }), startService('processor', env)]);
    await waitUntilReady(producer);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close().catch(() => {});
    await stopAll();
    await t?.cleanup();
  });

  it('goes live with ?token= and shows new events; without it the gateway refuses the data', async () => {
    const page = await browser.newPage();
    await page.goto(`${gateway.url}/ui?token=${TOKEN}`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 15_000 });
    expect((await fetch(`${producer.url}/send?message=token-page-event`)).status).toBe(202);
    await waitFor('the event in the page', async () => (await page.$$eval('#rows > li .msg', (els) => els.map((e) => e.textContent))).includes('token-page-event'));
    await page.close();

    // The static page itself is open, but the data behind it is not.
    const open = await fetch(`${gateway.url}/ui`);
    expect(open.status).toBe(200);
    await open.arrayBuffer();
    expect((await fetch(`${gateway.url}/logs`)).status).toBe(401);
  });
});
