// Load generator for the stats scenario: each query, one request at a time, `count` times after a warm-up
// request; latency per request. A query that does not answer 200 is reported with its status and not timed.
// With `follow`, the query is also paged through to its end by next_before (a text search that stops on its time
// budget answers with a cursor): how many requests and how long that took, and how many rows it found.
import { Histogram } from '../lib/histogram.js';
import { httpClient } from '../lib/http-client.js';
import { finish, params, progress } from '../lib/load-child.js';

// `paths`: request i (the warm-up is 0) asks for paths[i % paths.length] instead of `path` (the loki scenario: a new
// window each time, past the gateway's label cache).
const p = params<{ gatewayUrl: string; queries: { name: string; path: string; paths?: string[]; count: number; budgetMs: number; follow?: boolean }[] }>();
const request = httpClient(p.gatewayUrl, 1, 60_000);

interface Followed {
  requests: number;
  ms: number;
  items: number;
}
type Out = { path: string; status: number; error?: string; items?: number; nextBefore?: number | null; followed?: Followed; countedShare?: number };
const out: Record<string, Out & Partial<ReturnType<Histogram['summary']>>> = {};

/** The fields of a /logs or /stats answer this generator reports on. */
type Answer = { next_before?: number | null; complete?: boolean; counted_from?: string; from?: string; to?: string };

/** /stats: the share of the window a text-search count covered before its time budget ran out (1 when complete). */
function countedShare(s: Answer): number | undefined {
  if (s.complete === undefined || !s.from || !s.to || !s.counted_from) return undefined;
  const [from, to, counted] = [Date.parse(s.from), Date.parse(s.to), Date.parse(s.counted_from)];
  return (to - counted) / (to - from);
}
const countItems = (body: string) => body.match(/\{"id"\s*:/g)?.length ?? 0;

async function follow(path: string): Promise<Followed> {
  const start = performance.now();
  let requests = 0;
  let items = 0;
  for (let before: number | null = null; ; ) {
    const res = await request('GET', before === null ? path : `${path}&before=${before}`);
    requests++;
    items += countItems(res.body);
    before = (JSON.parse(res.body) as Answer).next_before ?? null;
    if (before === null) return { requests, ms: performance.now() - start, items };
  }
}
for (const q of p.queries) {
  let first;
  const firstStart = performance.now();
  try {
    first = await request('GET', q.paths?.[0] ?? q.path);
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
  let items = countItems(first.body);
  for (let i = 0; !slow && i < q.count && performance.now() - start < q.budgetMs; i++) {
    const t = performance.now();
    const res = await request('GET', q.paths ? q.paths[(i + 1) % q.paths.length]! : q.path);
    h.record(performance.now() - t);
    if (i === 0) items = countItems(res.body);
  }
  const answer = JSON.parse(first.body) as Answer;
  out[q.name] = { path: q.path, status: 200, items, nextBefore: answer.next_before, countedShare: countedShare(answer), ...h.summary() };
  progress(`${q.name}: p95 ${h.summary().p95} ms over ${h.n} requests`);
  if (q.follow) {
    const f = await follow(q.path);
    out[q.name]!.followed = f;
    progress(`${q.name}: paged to its end in ${f.requests} requests, ${Math.round(f.ms)} ms, ${f.items} rows`);
  }
}
finish(out);
