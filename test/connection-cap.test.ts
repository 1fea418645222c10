// A connection cap per service (issue 11 point 5): over MAX_CONNECTIONS a new WebSocket is closed with 1013 and the
// open ones carry on; /health keeps answering; a cap the fd limit cannot hold stops the service at start-up.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideCap, fdLimits, FD_RESERVE } from '@logstream/shared/connection-cap.js';
import { connectLive, type LiveClient } from './helpers/live-client.js';
import { seed } from './helpers/seed.js';
import { startService, stopAll, waitUntilReady } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
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

/** logstream_connections_refused_total of a service, from its /metrics (with its service label). */
async function refusedMetric(url: string, service: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^logstream_connections_refused_total\\{service="${service}"\\} (\\d+)$`, 'm').exec(text);
  if (!m) throw new Error(`no logstream_connections_refused_total{service="${service}"} in /metrics`);
  return Number(m[1]);
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
