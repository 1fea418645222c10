// A connection cap per service (issue 11 point 5): over MAX_CONNECTIONS a new WebSocket is closed with 1013 and the
// open ones carry on; /health keeps answering; a cap the fd limit cannot hold stops the service at start-up.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideCap, fdLimits, FD_RESERVE, LATER_FDS } from '@logstream/shared/connection-cap.js';
import { startFlood, type FloodAnswer } from './helpers/keep-alive-flood.js';
import { rawRequest } from './helpers/raw-http.js';
import { freePort } from './helpers/free-port.js';
import { connect } from 'node:net';
import { connectLive, type LiveClient } from './helpers/live-client.js';
import { seed } from './helpers/seed.js';
import { startService, stopAll, waitUntilReady } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let t: TestEnv;

beforeAll(async () => {
  t = await createTestEnv('connection_cap');
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

/** logstream_connections_refused_total{transport} of a service, from its /metrics (with its service label). */
async function refusedMetric(url: string, service: string, transport: 'websocket' | 'http' | 'tcp' = 'websocket'): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('logstream_connections_refused_total{') && l.includes(`transport="${transport}"`) && l.includes(`service="${service}"`));
  if (!line) throw new Error(`no logstream_connections_refused_total{service="${service}",transport="${transport}"} in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Open a WebSocket and resolve with how it ended up: open, or closed with a code and reason. */
function attempt(url: string): Promise<{ ws: WebSocket; closed?: { code: number; reason: string } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let opened = false;
    ws.once('open', () => {
      opened = true;
      // Give the server a moment to refuse it (it closes right after the handshake).
      setTimeout(() => resolve({ ws }), 200);
    });
    ws.once('close', (code, reason) => resolve({ ws, closed: { code, reason: reason.toString() } }));
    ws.once('error', (err) => {
      if (!opened) reject(err);
    });
  });
}

describe('the cap decision at start-up', () => {
  it('keeps a cap that fits, lowers the default to fit, refuses a set one that does not', () => {
    expect(decideCap(100, 20_000)).toEqual({ max: 100 });
    expect(decideCap(undefined, undefined).max).toBeGreaterThan(0);
    const lowered = decideCap(undefined, 4_096);
    expect(lowered.max).toBe(4_096 - FD_RESERVE);
    expect(lowered.warning).toMatch(/lowered/);
    expect(decideCap(50_000, 20_000).error).toMatch(/MAX_CONNECTIONS=50000 needs 51024 file descriptors.*limit is 20000.*ulimit -n/);
    expect(decideCap(undefined, 500).error).toMatch(/no room/);
  });

  it('reads the soft and hard open-files limits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'limits-'));
    const file = join(dir, 'limits');
    writeFileSync(file, 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n');
    expect(fdLimits(file)).toEqual({ soft: 1024, hard: 524288 });
    if (process.platform === 'linux') expect(fdLimits()!.soft).toBeGreaterThan(0);
  });

  it('stops the gateway with one line when MAX_CONNECTIONS cannot fit under the fd limit', async () => {
    const soft = fdLimits()?.soft;
    if (soft === undefined || !Number.isFinite(soft)) return;
    const err = await startService('gateway', { ...t.env, MAX_CONNECTIONS: String(soft) }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/exited with 1[\s\S]*MAX_CONNECTIONS=\d+ needs/);
  });
});

describe('over the cap', () => {
  it('gateway: a new /live socket is closed with 1013, the open ones keep their rows, /health answers', async () => {
    const gateway = await startService('gateway', { ...t.env, MAX_CONNECTIONS: '20' });
    await waitUntilReady(gateway);
    const clients: LiveClient[] = [];
    for (let i = 0; i < 20; i++) clients.push(await connectLive(gateway.url));
    expect(await refusedMetric(gateway.url, 'gateway')).toBe(0);
    const over = await attempt(`${gateway.url.replace(/^http/, 'ws')}/live`);
    expect(over.closed?.code).toBe(1013);
    expect(over.closed?.reason).toMatch(/MAX_CONNECTIONS=20/);
    const tail = await attempt(`${gateway.url.replace(/^http/, 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{service="api"}')}`);
    expect(tail.closed?.code).toBe(1013);
    // Each refusal is counted (issue 11: they were visible only to the refused clients).
    expect(await refusedMetric(gateway.url, 'gateway')).toBe(2);
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    const ids = await seed(t.pool, t.channel, [{ message: 'after the refusal' }]);
    for (const c of clients) await c.waitForIds(1);
    for (const c of clients) expect(c.ids).toEqual(ids);
    // A closed socket makes room again.
    await clients.pop()!.close();
    await waitFor('room for one more', async () => {
      const again = await attempt(`${gateway.url.replace(/^http/, 'ws')}/live`);
      if (again.closed) return undefined;
      again.ws.close();
      return true;
    });
    for (const c of clients) await c.close();
    await gateway.stop();
  });

  it('producer: a new /publish socket is closed with 1013 and the open ones still get acks', async () => {
    const producer = await startService('producer', { ...t.env, MAX_CONNECTIONS: '3' });
    await waitUntilReady(producer);
    const url = `${producer.url.replace(/^http/, 'ws')}/publish`;
    const open = await Promise.all([attempt(url), attempt(url), attempt(url)]);
    for (const o of open) expect(o.closed).toBeUndefined();
    const over = await attempt(url);
    expect(over.closed?.code).toBe(1013);
    expect(await refusedMetric(producer.url, 'producer')).toBe(1);
    const ack = await new Promise<any>((resolve) => {
      open[0]!.ws.once('message', (d) => resolve(JSON.parse(d.toString())));
      open[0]!.ws.send(JSON.stringify({ message: 'still served' }));
    });
    expect(ack).toMatchObject({ type: 'ack', accepted: 1 });
    for (const o of open) o.ws.close();
    await producer.stop();
  });
});

/** Open descriptors of another process (Linux ≥ 6.2 gives the count as the directory's size; else list it). */
function openFds(pid: number): number {
  const size = statSync(`/proc/${pid}/fd`).size;
  return size > 0 ? size : readdirSync(`/proc/${pid}/fd`).length;
}

/** The highest descriptor count of `pid`, sampled every 5 ms until stopped (a missed peak only weakens the check). */
function watchFds(pid: number): { peak: () => number; stop: () => void } {
  let peak = openFds(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, openFds(pid));
    } catch {
      // the process exited
    }
  }, 5);
  return { peak: () => peak, stop: () => clearInterval(timer) };
}

/** Connect to a syslog TCP port and send nothing: true when the server closed the socket (refused it). */
function syslogClosedAtOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let weClosed = false;
    s.on('error', () => {});
    s.once('close', () => resolve(!weClosed));
    // A kept sender is let go after a moment: the wait only sets how often the test asks again.
    setTimeout(() => {
      weClosed = true;
      s.destroy();
    }, 500);
  });
}

const request = (method: string, path: string, body = '') =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${body ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n${body}`;

/** Answers of a flood, sorted: served, refused over the cap (checked for their headers and close), others. */
function tally(okStatus: number) {
  const t = { served: new Set<number>(), refused: new Set<number>(), other: [] as string[], badRefusals: [] as string[] };
  const onAnswer = (n: number, a: FloodAnswer, closed: boolean) => {
    if (a.status === okStatus) t.served.add(n);
    else if (a.status === 503 && a.body.includes('"over_capacity"')) {
      t.refused.add(n);
      if (a.headers.get('retry-after') !== '1' || a.headers.get('connection') !== 'close' || !closed) {
        t.badRefusals.push(`${[...a.headers].join(' ')} closed=${closed}`);
      }
    } else if (a.status !== 503) t.other.push(`${a.status} ${a.body.slice(0, 200)}`);
    // A 503 of another kind (a pool wait or a Redis reply past its bound on a loaded machine) is no refusal of the
    // cap's, and the checks below leave its request out; any other status is a failure.
  };
  return { t, onAnswer };
}

// 400 keep-alive clients, twice the cap, each asking every 0.5-1.5 s (uWS's idle timeout of ~10 s never closes
// them): without a count of HTTP sockets all 400 stayed open, and at 20,000 the descriptors ran out.
const MAX = 200;
const CLIENTS = 400;
const CONNECTING = 20;
/**
 * Descriptors besides the flood's that may open after `before` is read: the gateway's PostgreSQL pools growing
 * under the flood (10 connections at most), the test's probe and fetch sockets.
 */
const OWN = 16;

describe('HTTP keep-alive clients over the cap', () => {
  it('gateway: descriptors stay under the cap, refusals are 503 + Retry-After + close, /live and /health unaffected', async () => {
    const gateway = await startService('gateway', { ...t.env, MAX_CONNECTIONS: String(MAX) });
    await waitUntilReady(gateway);
    const live = await connectLive(gateway.url);
    const before = openFds(gateway.proc.pid!);
    const fds = watchFds(gateway.proc.pid!);
    const { t: seen, onAnswer } = tally(200);
    const flood = startFlood({ port: gateway.port, clients: CLIENTS, maxConnecting: CONNECTING, pauseMs: 1_000, request: () => request('GET', '/logs?limit=1'), onAnswer });
    let probesOverCap = 0;
    try {
      await waitFor('100 requests served and 100 refused', () => seen.served.size >= 100 && seen.refused.size >= 100, 120_000);
      // The open /live socket keeps its rows while the service is over the cap.
      const ids = await seed(t.pool, t.channel, [{ message: 'during the flood' }]);
      await live.waitForIds(1);
      expect(live.ids).toEqual(ids);
      // /health answers 200 throughout, and over the cap it closes its connection.
      await waitFor('a /health answered over the cap', async () => {
        const r = await rawRequest(gateway.port, request('GET', '/health'));
        expect(r.status).toBe(200);
        if (/^connection: close$/im.test(r.headers)) probesOverCap++;
        return probesOverCap > 0;
      }, 120_000);
      // A new WebSocket is judged by the same count: closed with 1013 over it (kept, and let go, under it).
      await waitFor('a new /live socket refused over the cap', async () => {
        const a = await attempt(`${gateway.url.replace(/^http/, 'ws')}/live`);
        if (!a.closed) a.ws.close();
        return a.closed?.code === 1013;
      }, 120_000);
    } finally {
      await flood.stop();
      fds.stop();
    }
    expect(seen.badRefusals).toEqual([]);
    expect(seen.other).toEqual([]);
    expect(flood.closedWithoutAnswer).toBe(0);
    // Every socket the server answered is judged: only those waiting for a first answer can be over the count.
    expect(fds.peak()).toBeLessThanOrEqual(before + MAX + LATER_FDS + CONNECTING + OWN);
    expect(await refusedMetric(gateway.url, 'gateway', 'http')).toBeGreaterThanOrEqual(seen.refused.size);
    expect(await refusedMetric(gateway.url, 'gateway', 'websocket')).toBeGreaterThan(0);
    // Once the flood is gone, new clients are served again, and the /live socket still gets rows.
    await waitFor('a new client served', async () => (await rawRequest(gateway.port, request('GET', '/logs?limit=1'))).status === 200);
    const after = await seed(t.pool, t.channel, [{ message: 'after the flood' }]);
    await live.waitForIds(2);
    expect(live.ids.slice(1)).toEqual(after);
    await live.close();
    await gateway.stop();
  });

  it('producer: nothing of a refused POST /send is stored, an open /publish socket still gets acks, the OTLP and syslog ports refuse too', async () => {
    const [otlpPort, syslogPort] = [await freePort(), await freePort()];
    const producer = await startService('producer', { ...t.env, MAX_CONNECTIONS: String(MAX), OTLP_HTTP_PORT: String(otlpPort), SYSLOG_PORT: String(syslogPort) });
    await waitUntilReady(producer);
    const publish = await attempt(`${producer.url.replace(/^http/, 'ws')}/publish`);
    expect(publish.closed).toBeUndefined();
    const before = openFds(producer.proc.pid!);
    const fds = watchFds(producer.proc.pid!);
    const mark = `flood-${Date.now().toString(36)}`;
    const { t: seen, onAnswer } = tally(202);
    const flood = startFlood({
      port: producer.port, clients: CLIENTS, maxConnecting: CONNECTING, pauseMs: 1_000, onAnswer,
      request: (n) => request('POST', '/send', JSON.stringify({ message: `${mark}-${n}` })),
    });
    try {
      await waitFor('100 requests served and 100 refused', () => seen.served.size >= 100 && seen.refused.size >= 100, 120_000);
      const ack = await new Promise<any>((resolve) => {
        publish.ws.once('message', (d) => resolve(JSON.parse(d.toString())));
        publish.ws.send(JSON.stringify({ message: 'published during the flood' }));
      });
      expect(ack).toMatchObject({ type: 'ack', accepted: 1 });
      // The producer's other listeners are under the same cap: OTLP/HTTP answers 503 over_capacity (or is served),
      // a syslog TCP sender is closed at once (or kept).
      const otlp = JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: `${mark}-otlp` } }] }] }] });
      await waitFor('an OTLP request refused over the cap', async () => {
        const r = await rawRequest(otlpPort, request('POST', '/v1/logs', otlp));
        expect([200, 503]).toContain(r.status);
        return r.status === 503 && r.body.includes('"over_capacity"') && /^connection: close$/im.test(r.headers);
      }, 120_000);
      await waitFor('a syslog TCP connection closed over the cap', () => syslogClosedAtOnce(syslogPort), 120_000);
    } finally {
      await flood.stop();
      fds.stop();
    }
    expect(seen.badRefusals).toEqual([]);
    expect(seen.other).toEqual([]);
    expect(fds.peak()).toBeLessThanOrEqual(before + MAX + LATER_FDS + CONNECTING + OWN);
    // What was answered 202 is in the stream, what was refused is not.
    const stored = new Set<number>();
    for (const [, fields] of await t.redis.xrange(t.stream, '-', '+')) {
      for (const m of fields.join('\n').matchAll(new RegExp(`${mark}-(\\d+)`, 'g'))) stored.add(Number(m[1]));
    }
    expect([...seen.served].filter((n) => !stored.has(n))).toEqual([]);
    expect([...seen.refused].filter((n) => stored.has(n))).toEqual([]);
    expect(await refusedMetric(producer.url, 'producer', 'http')).toBeGreaterThan(seen.refused.size);
    expect(await refusedMetric(producer.url, 'producer', 'tcp')).toBeGreaterThan(0);
    await waitFor('a new client served', async () => (await rawRequest(producer.port, request('POST', '/send', JSON.stringify({ message: 'after the flood' })))).status === 202);
    publish.ws.close();
    await producer.stop();
  });
});
