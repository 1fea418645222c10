// /metrics of every service, from real processes after real traffic: each metric the issue names is exposed and
// moves with what happened (events accepted and rejected, rows stored, rows pushed, live connections). Every
// logstream_* metric the Grafana dashboard queries must exist. And /ready follows the dependencies: the processor
// and the gateway reach Redis and PostgreSQL through TCP proxies here, which the test cuts and restores.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@logstream/shared/config.js';
import { connectLive, type LiveClient } from './helpers/live-client.js';
import { startService, stopAll, waitUntilReady, type Service } from './helpers/services.js';
import { createTestEnv, PG_HOST, PG_PORT, REDIS_HOST, REDIS_PORT, waitFor, type TestEnv } from './helpers/test-env.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format → samples (prom-client writes it; this reads only what the assertions need). */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(service: Service): Promise<Sample[]> {
  const res = await fetch(`${service.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

/** Sum of the samples named `name` whose labels include `labels`; undefined when there is none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hits.length === 0 ? undefined : hits.reduce((a, s) => a + s.value, 0);
}

interface Proxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
}

/** A TCP proxy that can be cut (every connection dropped, new ones refused) and restored on the same port. */
async function tcpProxy(host: string, targetPort: number): Promise<Proxy> {
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  const cut = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  };
  await listen();
  return { port, cut, restore: listen };
}

let t: TestEnv;
let producer: Service;
let processor: Service;
let gateway: Service;
const proxies: Record<'processorRedis' | 'processorPg' | 'gatewayPg', Proxy> = {} as never;
let live: LiveClient | undefined;

beforeAll(async () => {
  t = await createTestEnv('metrics');
  proxies.processorRedis = await tcpProxy(REDIS_HOST, REDIS_PORT);
  proxies.processorPg = await tcpProxy(PG_HOST, PG_PORT);
  proxies.gatewayPg = await tcpProxy(PG_HOST, PG_PORT);
  const env = { ...t.env, BLOCK_MS: '200' };
  [producer, processor, gateway] = await Promise.all([
    startService('producer', env),
    startService('processor', { ...env, REDIS_HOST: '127.0.0.1', REDIS_PORT: String(proxies.processorRedis.port), DB_HOST: '127.0.0.1', DB_PORT: String(proxies.processorPg.port) }),
    // No safety poll during the test: every fetch is then caused by a NOTIFY, so store→push is always observed.
    startService('gateway', { ...env, POLL_INTERVAL_MS: '600000', DB_HOST: '127.0.0.1', DB_PORT: String(proxies.gatewayPg.port) }),
  ]);  await Promise.all([producer, processor, gateway].map((s) => waitUntilReady(s)));
});

afterAll(async () => {
  await live?.close();
  await stopAll();
  for (const p of Object.values(proxies)) await p.cut();
  await t?.cleanup();
});

describe('metrics after real traffic', () => {
  const SENT = 5;

  it('counts accepted and rejected events, rows stored and rows pushed, and live connections', async () => {
    live = await connectLive(gateway.url, 'service=metrics');
    const events = Array.from({ length: SENT }, (_, i) => ({ message: `metrics ${i}`, service: 'metrics' }));
    const ok = await fetch(`${producer.url}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
    expect(ok.status).toBe(202);
    const bad = await fetch(`${producer.url}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"level":"loud"}' });
    expect(bad.status).toBe(400);
    const badReason = ((await bad.json()) as { error: string }).error;
    await live.waitForIds(SENT);

    const p = await scrape(producer);
    expect(value(p, 'logstream_events_accepted_total', { transport: 'http', service: 'producer' })).toBe(SENT);
    expect(value(p, 'logstream_events_rejected_total', { reason: badReason })).toBe(1);
    expect(value(p, 'logstream_http_request_duration_seconds_count', { route: 'POST /send' })).toBe(2);
    expect(value(p, 'logstream_http_request_duration_seconds_count', { route: 'POST /send', status: '202' })).toBe(1);
    expect(value(p, 'logstream_publish_connections')).toBe(0);
    expect(value(p, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value(p, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);

    // Rows are pushed once committed; the XACK follows the commit, so wait for the group to drain.
    const c = await waitFor('nothing pending', async () => {
      const samples = await scrape(processor);
      return value(samples, 'logstream_group_pending') === 0 ? samples : undefined;
    });
    expect(value(c, 'logstream_rows_stored_total', { service: 'processor' })).toBe(SENT);
    expect(value(c, 'logstream_batch_size_count')).toBeGreaterThanOrEqual(1);
    expect(value(c, 'logstream_batch_size_sum')).toBe(SENT);
    expect(value(c, 'logstream_insert_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(value(c, 'logstream_insert_duration_seconds_sum')).toBeGreaterThan(0);
    expect(value(c, 'logstream_dead_letters_total')).toBe(0);
    expect(value(c, 'logstream_reclaimed_total')).toBe(0);
    // Sampled on scrape from XINFO GROUPS / XLEN: everything is delivered and acknowledged by now.
    expect(value(c, 'logstream_group_lag')).toBe(0);
    expect(value(c, 'logstream_group_pending')).toBe(0);
    expect(value(c, 'logstream_stream_length')).toBeLessThanOrEqual(SENT);

    const g = await scrape(gateway);
    expect(value(g, 'logstream_live_connections', { service: 'gateway' })).toBe(1);
    expect(value(g, 'logstream_live_rows_sent_total')).toBeGreaterThanOrEqual(SENT);
    expect(value(g, 'logstream_live_frames_total')).toBeGreaterThanOrEqual(1);
    expect(value(g, 'logstream_live_rows_dropped_total')).toBe(0);
    expect(value(g, 'logstream_listen_reconnects_total')).toBe(0);
    expect(value(g, 'logstream_ingest_push_latency_seconds_count')).toBe(SENT);
    expect(value(g, 'logstream_store_push_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    // One publish per fetch that found rows: at least one, at most one per row sent.
    expect(value(g, 'logstream_live_publish_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(value(g, 'logstream_live_publish_seconds_count')).toBeLessThanOrEqual(SENT);
    // The row was stored before it was pushed, and well within the test's own few seconds.
    const storePush = value(g, 'logstream_store_push_latency_seconds_sum')! / value(g, 'logstream_store_push_latency_seconds_count')!;
    expect(storePush).toBeGreaterThanOrEqual(0);
    expect(storePush).toBeLessThan(5);
    expect(value(g, 'logstream_live_head_id')).toBeGreaterThanOrEqual(SENT);

    await live.close();
    live = undefined;
    await waitFor('live connections back to 0', async () => value(await scrape(gateway), 'logstream_live_connections') === 0);
  });

  it('exposes every logstream metric the Grafana dashboard queries', async () => {
    const names = new Set([...(await scrape(producer)), ...(await scrape(processor)), ...(await scrape(gateway))].map((s) => s.name));
    const dashboard = readFileSync(`${REPO_ROOT}deploy/grafana/logstream.json`, 'utf8');
    const queried = new Set([...dashboard.matchAll(/\b(logstream_[a-z_]+|process_[a-z_]+|nodejs_[a-z0-9_]+)/g)].map((m) => m[1]!));
    expect(queried.size).toBeGreaterThan(15);
    for (const q of queried) expect(names, q).toContain(q);
  });
});

const get = (url: string) => fetch(url, { signal: AbortSignal.timeout(5_000) });

/** Cut a proxy, wait for /ready to answer 503 with `expected`, restore it, wait for 200. */
async function outage(service: Service, proxy: Proxy, expected: Record<string, unknown>): Promise<void> {
  expect((await get(`${service.url}/ready`)).status).toBe(200);
  await proxy.cut();
  const down = await waitFor(`${service.name} /ready 503`, async () => {
    const res = await get(`${service.url}/ready`);
    return res.status === 503 ? ((await res.json()) as Record<string, unknown>) : undefined;
  }, 15_000);
  expect(down).toMatchObject({ ready: false, ...expected });
  // /health is about the process, which stays up; /metrics still answers (gauges keep their last values).
  expect((await get(`${service.url}/health`)).status).toBe(200);
  expect((await get(`${service.url}/metrics`)).status).toBe(200);
  await proxy.restore();
  await waitFor(`${service.name} /ready 200`, async () => (await get(`${service.url}/ready`)).status === 200, 20_000);
}

async function sendAndWaitStored(message: string): Promise<void> {
  expect((await get(`${producer.url}/send?message=${message}&service=metrics`)).status).toBe(202);
  await waitFor(`${message} stored`, async () => (await t.pool.query('SELECT 1 FROM logs WHERE message = $1', [message])).rows.length === 1, 20_000);
}

describe('/ready follows the dependencies', () => {
  it('turns the processor 503 while its Redis is unreachable, and 200 again once it is back', async () => {
    await outage(processor, proxies.processorRedis, { redis: false });
    await sendAndWaitStored('after-redis-outage');
  });

  it('turns the processor 503 while its PostgreSQL is unreachable, even with nothing to store', async () => {
    await outage(processor, proxies.processorPg, { postgres: false });
    await sendAndWaitStored('after-pg-outage');
  });

  it('turns the gateway 503 while its PostgreSQL is unreachable; LISTEN reconnects and live rows flow again', async () => {
    const before = value(await scrape(gateway), 'logstream_listen_reconnects_total')!;
    await outage(gateway, proxies.gatewayPg, { postgres: false });
    expect(value(await scrape(gateway), 'logstream_listen_reconnects_total')).toBeGreaterThan(before);
    const client = await connectLive(gateway.url, 'service=metrics&q=after-gateway-outage');
    try {
      await sendAndWaitStored('after-gateway-outage');
      await client.waitForIds(1);
    } finally {
      await client.close();
    }
  });
});
