// Load generator for the stats scenario: each query, one request at a time, `count` times after a warm-up
// request; latency per request. A query that does not answer 200 is reported with its status and not timed.
import { Histogram } from './lib/histogram.js';
import { httpClient } from './lib/http-client.js';
import { finish, params, progress } from './lib/load-child.js';

const p = params<{ gatewayUrl: string; queries: { name: string; path: string; count: number; budgetMs: number }[] }>();
const request = httpClient(p.gatewayUrl, 1, 60_000);

const out: Record<string, { path: string; status: number; error?: string; items?: number } & Partial<ReturnType<Histogram['summary']>>> = {};
for (const q of p.queries) {
  let first;
  const firstStart = performance.now();
  try {
    first = await request('GET', q.path);
  } catch (err) {
    out[q.name] = { path: q.path, status: 0, error: (err as Error).message };
    continue;
  }
  if (first.status !== 200) {
    out[q.name] = { path: q.path, status: first.status, error: first.body.slice(0, 200) };
    progress(`${q.name}: ${first.status} (not timed)`);
    continue;
  }
  const h = new Histogram();
  const firstMs = performance.now() - firstStart;
  // A query slower than half the budget (a sequential scan of millions of rows) gets no warm-up: its first run is
  // its one sample, so that it does not hold up the whole benchmark.
  const slow = firstMs > q.budgetMs / 2;
  if (slow) h.record(firstMs);
  const start = performance.now();
  let items = first.body.match(/\{"id"\s*:/g)?.length ?? 0;
  for (let i = 0; !slow && i < q.count && performance.now() - start < q.budgetMs; i++) {
    const t = performance.now();
    const res = await request('GET', q.path);
    h.record(performance.now() - t);
    if (i === 0) items = res.body.match(/\{"id"\s*:/g)?.length ?? 0;
  }
  out[q.name] = { path: q.path, status: 200, items, ...h.summary() };
  progress(`${q.name}: p95 ${h.summary().p95} ms over ${h.n} requests`);
}
finish(out);
