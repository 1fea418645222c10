// The page under its own Content-Security-Policy, in a real browser (issue 11 point 9): it loads, shows stored rows
// and live rows with no CSP violation, a `?token=` never leaves it in a Referer (to the API or to another site it
// links to), and it refuses to be framed.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../helpers/browser.js';
import { startService, stopAll, waitUntilReady, type Service } from '../helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/test-env.js';

let t: TestEnv;
let gateway: Service;
let producer: Service;
let browser: Browser;

describe.skipIf(!hasChromium)('the page and its security headers', () => {
  beforeAll(async () => {
    t = await createTestEnv('page_headers');
    const env = { ...t.env, BLOCK_MS: '100' };
    [gateway, producer] = await Promise.all([
      startService('gateway', { ...env, READ_TOKENS: 'page-secret' }),
      startService('producer', env),
      startService('processor', env),
    ]);
    await waitUntilReady(producer);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close().catch(() => {});
    await stopAll();
    await t?.cleanup();
  });

  it('works under its CSP and never sends its token in a Referer', async () => {
    expect((await fetch(`${producer.url}/send?message=before-the-page&service=csp`)).status).toBe(202);
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    const referers: string[] = [];
    page.on('request', async (r) => {
      const referer = (await r.allHeaders())['referer'];
      if (referer) referers.push(`${r.url()} <- ${referer}`);
    });
    await page.goto(`${gateway.url}/ui?token=page-secret`);
    await page.getByText('before-the-page').waitFor({ timeout: 15_000 });
    expect((await fetch(`${producer.url}/send?message=while-on-the-page&service=csp`)).status).toBe(202);
    await page.getByText('while-on-the-page').waitFor({ timeout: 15_000 });
    // A link out of the page (as a user's log line might hold) carries no Referer either.
    await page.evaluate((url) => {
      const a = document.createElement('a');
      a.href = url;
      a.textContent = 'out';
      document.body.append(a);
    }, `${producer.url}/health?from=link`);
    const [outbound] = await Promise.all([page.waitForRequest((r) => r.url().includes('from=link')), page.click('text=out')]);
    expect((await outbound.allHeaders())['referer']).toBeUndefined();
    expect(referers).toEqual([]);
    expect(violations).toEqual([]);
    await page.close();
  });

  it('cannot be framed by another page', async () => {
    const page = await browser.newPage();
    let blocked = false;
    page.on('console', (m) => {
      if (/frame-ancestors|Refused to frame|Refused to display/i.test(m.text())) blocked = true;
    });
    // Another origin (the producer's) frames the page.
    await page.goto(`${producer.url}/health`);
    await page.setContent(`<iframe src="${gateway.url}/ui"></iframe>`);
    await waitFor('the frame refused', () => blocked, 10_000);
    const frame = page.frames().find((f) => f.url().includes('/ui'));
    expect(await frame?.evaluate(() => document.querySelector('#tail') !== null).catch(() => false)).not.toBe(true);
    await page.close();
  });
});
