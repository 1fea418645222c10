// The live-tail page under a burst (issue 6: "readable at 100,000 rows"). Usage:
//   node --import tsx bench/diagnostics/page-burst.ts [rows=100000]
// Starts a gateway on its own database, opens the page in headless Chromium following the tail, inserts the rows in
// one statement (+ NOTIFY, as a processor would), then reports when the newest row was shown, how long the page's
// main thread was blocked, how fast it answered a click, and that the rows kept are contiguous with no duplicate.
import { chromium } from 'playwright-core';
import { startService, stopAll } from '../../test/helpers/services.js';
import { createTestEnv } from '../../test/helpers/test-env.js';

const N = Number(process.argv[2] ?? 100_000);
const t = await createTestEnv('burst');
try {
  const gateway = await startService('gateway', t.env);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${gateway.url}/ui?service=burst`);
  await page.waitForSelector('#status[data-state="live"]');
  await page.evaluate(() => {
    const w = window as unknown as { longTasks: number[] };
    w.longTasks = [];
    new PerformanceObserver((l) => l.getEntries().forEach((e) => w.longTasks.push(e.duration))).observe({ type: 'longtask' });
  });
  const t0 = Date.now();
  const { rows } = await t.pool.query<{ max: string }>(`WITH ins AS (
      INSERT INTO logs (id, stream_id, "timestamp", received_at, level, service, message)
      SELECT id, 'burst-' || id, now(), now(), 30, 'burst', 'burst row ' || g
      FROM (SELECT nextval('logs_id_seq') AS id, g FROM generate_series(1, ${N}) g) s RETURNING id)
    SELECT max(id)::text AS max FROM ins`);
  await t.pool.query('SELECT pg_notify($1, $2)', [t.channel, rows[0]!.max]);
  const maxId = Number(rows[0]!.max);
  const inserted = Date.now() - t0;
  await page.waitForFunction((m) => (window as any).logstream.ids().at(-1) === m, maxId, { timeout: 600_000, polling: 250 });
  const shown = Date.now() - t0;
  const c0 = Date.now();
  await page.click('#pause');
  await page.waitForSelector('#pause[aria-pressed="true"]');
  const click = Date.now() - c0;
  const ids: number[] = await page.evaluate(() => (window as any).logstream.ids());
  const longTasks: number[] = await page.evaluate(() => (window as any).longTasks);
  let gaps = 0;
  for (let i = 1; i < ids.length; i++) if (ids[i] !== ids[i - 1]! + 1) gaps++;
  console.log(JSON.stringify({
    rows: N, insert_ms: inserted, newest_shown_ms: shown, click_answered_ms: click, rows_kept: ids.length,
    gaps, duplicates: ids.length - new Set(ids).size, long_tasks: longTasks.length,
    long_task_max_ms: Math.round(Math.max(0, ...longTasks)), long_task_total_ms: Math.round(longTasks.reduce((a, b) => a + b, 0)),
  }));
  await browser.close();
} finally {
  await stopAll();
  await t.cleanup();
}
