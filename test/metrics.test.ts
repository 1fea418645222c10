// /metrics of every service, from real processes after real traffic: each metric the issue names is exposed and
// moves with what happened (events accepted and rejected, rows stored, rows pushed, live connections). Every
// logstream_* metric the Grafana dashboard queries must exist. And /ready follows the dependencies: the processor
// reaches Redis through a TCP proxy here, which the test cuts and restores.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../shared/src/config.js';
import { connectLive, type LiveClient } from './helpers/live-client.js';
import { startService, stopAll, type Service } from './helpers/services.js';
import { createTestEnv, REDIS_HOST, REDIS_PORT, waitFor, type TestEnv } from './helpers/test-env.js';

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

/** A TCP proxy to the test Redis that can be cut (every connection dropped, new ones refused) and restored. */
async function redisProxy(): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(REDIS_PORT, REDIS_HOST);
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
  return { port, cut, restore: listen, close: cut };
}

let t: TestEnv;
let producer: Service;
let processor: Service;
let gateway: Service;
let proxy: Awaited<ReturnType<typeof redisProxy>>;
let live: LiveClient | undefined;

beforeAll(async () => {
  t = await createTestEnv('metrics');
  proxy = await redisProxy();
  const env = { ...t.env, BLOCK_MS: '200' };
  [producer, processor, gateway] = await Promise.all([
    startService('producer', env),
    startService('processor', { ...env, REDIS_PORT: String(proxy.port) }),
    // No safety poll during the test: every fetch is then caused by a NOTIFY, so store→push is always observed.
    startService('gateway', { ...env, POLL_INTERVAL_MS: '600000' }),
  ]);
});

afterAll(async () => {
  await live?.close();
  await stopAll();
  await proxy?.close();
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

describe('/ready follows the dependencies', () => {
  it('turns the processor 503 while its Redis is unreachable, and 200 again once it is back', async () => {
    expect((await fetch(`${processor.url}/ready`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    await proxy.cut();
    const down = await waitFor('processor /ready 503', async () => {
      const res = await fetch(`${processor.url}/ready`, { signal: AbortSignal.timeout(5_000) });
      return res.status === 503 ? ((await res.json()) as { ready: boolean; redis: boolean }) : undefined;
    }, 10_000);
    expect(down).toMatchObject({ ready: false, redis: false });
    // /health is about the process, which stays up.
    expect((await fetch(`${processor.url}/health`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    // /metrics still answers (the stream gauges keep their last values).
    expect((await fetch(`${processor.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);

    await proxy.restore();
    await waitFor('processor /ready 200', async () => (await fetch(`${processor.url}/ready`, { signal: AbortSignal.timeout(5_000) })).status === 200, 15_000);
    // And it stores again.
    const res = await fetch(`${producer.url}/send?message=after-outage&service=metrics`);
    expect(res.status).toBe(202);
    await waitFor('row stored after the outage', async () => {
      const { rows } = await t.pool.query("SELECT 1 FROM logs WHERE message = 'after-outage'");
      return rows.length === 1;
    }, 15_000);
  });
});
