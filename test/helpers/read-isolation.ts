// Greedy readers against everyone else (issue 11 point 4): `readers` clients repeat the worst-case searches (a
// /stats count of a word that is nowhere over one 30-day bucket, a /logs search for it, a /live subscribe with it and
// since=0; or, with greedy: 'loki', the Loki API's: a 30-day query_range log query and metric query with a line
// filter for it, and a tail replaying the 30 days) while a /live subscriber measures how late new rows reach it, a
// plain reader polls /logs and a replay probe subscribes to /live with a recent `since` over and over.
import WebSocket from 'ws';
import { connectLive } from './live-client.js';
import { seed } from './seed.js';
import { startService, waitUntilReady } from './services.js';
import { createTestEnv, sleep, waitFor } from './test-env.js';

export interface IsolationOptions {
  /** Rows in the table, each with a ~1 KB message, so that one search reads a few hundred MB. */
  rows: number;
  readers: number;
  durationMs: number;
  /** The kind of greedy reader: the gateway's own searches (default) or the Loki API's queries and tails. */
  greedy?: 'search' | 'loki';
}

export interface IsolationResult {
  /** Send → receive delay of every probe row on /live, ms, sorted. */
  liveDelays: number[];
  probes: number;
  plainStatuses: number[];
  readerStatuses: Map<number, number>;
  /** `error` codes of the greedy readers' refused answers (busy, query_timeout, unavailable…), with counts. */
  readerErrors: Map<string, number>;
  readerRequests: number;
  /** Per replay probe (a /live subscribe with since = 20 rows back): ms until its first rows, or -1 if none in 20 s. */
  replayDelays: number[];
  /** The gateway's /metrics at the end. */
  metrics: string;
}

/** The greedy readers' HTTP requests: a word that is nowhere, over the whole 30 days. */
function greedyPath(kind: 'search' | 'loki', i: number): string {
  if (kind === 'search') return i % 3 === 0 ? '/stats?window=30d&bucket=30d&q=absentword' : '/logs?q=absentword&limit=1000';
  const start = Math.floor(Date.now() / 1000) - 30 * 86_400;
  const query = i % 3 === 0 ? 'sum(count_over_time({service="api"} |= "absentword" [1d]))' : '{service="api"} |= "absentword"';
  return `/loki/api/v1/query_range?${new URLSearchParams({ query, start: String(start), step: '86400', limit: '5000' })}`;
}

/** The greedy WebSocket: a replay of the whole table for a word that is nowhere (the server scans until its head). */
function greedySocket(kind: 'search' | 'loki', ws: string): string {
  if (kind === 'search') return `${ws}/live?q=absentword&since=0`;
  const start = `${(Date.now() - 30 * 86_400_000) * 1_000_000}`;
  return `${ws}/loki/api/v1/tail?${new URLSearchParams({ query: '{service="api"} |= "absentword"', start })}`;
}

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

export async function runIsolation(o: IsolationOptions): Promise<IsolationResult> {
  const t = await createTestEnv('read_isolation');
  try {
    // Straight into the table, spread over the last 29 days (the statement trigger keeps the rollups).
    await t.pool.query(
      `INSERT INTO logs (id, stream_id, event_id, "timestamp", received_at, level, service, message)
         SELECT nextval('logs_id_seq'), 'r-' || i, gen_random_uuid(), now() - (i % 2500000) * interval '1 second', now(), 30, 'api',
                'GET /item/' || i || ' ' || repeat(md5(i::text), 32)
           FROM generate_series(1, ${o.rows}) AS i`,
    );
    await t.pool.query('VACUUM ANALYZE logs');
    const gateway = await startService('gateway', t.env);
    try {
      await waitUntilReady(gateway);
      const ws = gateway.url.replace(/^http/, 'ws');
      const live = await connectLive(gateway.url);
      const delays: number[] = [];
      live.ws.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.type !== 'logs') return;
        for (const item of frame.items) {
          const m = /^probe (\d+)$/.exec(item.message);
          if (m) delays.push(Date.now() - Number(m[1]));
        }
      });

      const deadline = Date.now() + o.durationMs;
      const readerStatuses = new Map<number, number>();
      const readerErrors = new Map<string, number>();
      let readerRequests = 0;
      const count = (status: number, error?: string) => {
        readerRequests++;
        readerStatuses.set(status, (readerStatuses.get(status) ?? 0) + 1);
        if (error !== undefined) readerErrors.set(error, (readerErrors.get(error) ?? 0) + 1);
      };
      const greedy = o.greedy ?? 'search';
      const reader = async (i: number) => {
        while (Date.now() < deadline) {
          if (i % 3 === 2) {
            const sock = new WebSocket(greedySocket(greedy, ws));
            await new Promise<void>((resolve) => {
              const done = () => resolve();
              sock.once('close', done);
              sock.once('error', done);
              setTimeout(() => {
                sock.terminate();
                resolve();
              }, 2_000);
            });
            count(101);
            continue;
          }
          try {
            const res = await fetch(`${gateway.url}${greedyPath(greedy, i)}`);
            const body = await res.text();
            let error: string | undefined;
            if (res.status !== 200) error = `${(JSON.parse(body) as { error?: string }).error}${res.headers.get('retry-after') ? '' : ' (no Retry-After)'}`;
            count(res.status, error);
          } catch {
            count(0, 'no answer');
          }
        }
      };
      const plainStatuses: number[] = [];
      const plain = async () => {
        while (Date.now() < deadline) {
          try {
            const res = await fetch(`${gateway.url}/logs?limit=50`, { signal: AbortSignal.timeout(10_000) });
            await res.arrayBuffer();
            plainStatuses.push(res.status);
          } catch {
            plainStatuses.push(0);
          }
          await sleep(200);
        }
      };
      // A /live client resuming 20 rows back: its replay takes the replays' share of the search connections.
      const replayDelays: number[] = [];
      const replayProbe = async () => {
        while (Date.now() < deadline) {
          const { rows } = await t.pool.query<{ id: string }>('SELECT max(id) - 20 AS id FROM logs');
          const started = Date.now();
          const sock = new WebSocket(`${ws}/live?since=${rows[0]!.id}`);
          replayDelays.push(
            await new Promise<number>((resolve) => {
              const timer = setTimeout(() => resolve(-1), 20_000);
              sock.on('message', (data) => {
                if (JSON.parse(data.toString()).type !== 'logs') return;
                clearTimeout(timer);
                resolve(Date.now() - started);
              });
              sock.once('error', () => {
                clearTimeout(timer);
                resolve(-1);
              });
            }),
          );
          sock.terminate();
          await sleep(500);
        }
      };
      let probes = 0;
      const writer = async () => {
        while (Date.now() < deadline) {
          await seed(t.pool, t.channel, [{ message: `probe ${Date.now()}` }]);
          probes++;
          await sleep(100);
        }
      };
      await Promise.all([...Array.from({ length: o.readers }, (_, i) => reader(i)), plain(), writer(), replayProbe()]);
      // Rows still on their way arrive late, and count as late.
      await waitFor('every probe row on /live', () => delays.length >= probes, 60_000).catch(() => {});
      await live.close();
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
      return { metrics, liveDelays: [...delays].sort((a, b) => a - b), probes, plainStatuses, readerStatuses, readerErrors, readerRequests, replayDelays };
    } finally {
      await gateway.kill();
    }
  } finally {
    await t.cleanup();
  }
}
