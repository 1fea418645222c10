// Loss that cannot be prevented is reported (issue 11 point 8): a private redis-server without persistence holds a
// backlog the processor has not read yet; restarted, it comes back empty. The producer and the processor each
// report the reset: an error log line, logstream_stream_reset_total, and their /ready detail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from './helpers/private-redis.js';
import { startService, stopAll, waitUntilReady, type Service } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

let redis: PrivateRedis;
let t: TestEnv;
let producer: Service;
let processor: Service;

beforeAll(async () => {
  redis = await startPrivateRedis({ persistence: false });
  t = await createTestEnv('reset', { redisPort: redis.port });
  producer = await startService('producer', t.env);
  processor = await startService('processor', t.env);
  await Promise.all([waitUntilReady(producer), waitUntilReady(processor)]);
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
  await redis.destroy();
});

const resetCount = async (s: Service) => {
  const m = /^logstream_stream_reset_total(?:\{[^}]*\})? (\S+)$/m.exec(await (await fetch(`${s.url}/metrics`)).text());
  return m ? Number(m[1]) : NaN;
};
const ready = async (s: Service) => (await (await fetch(`${s.url}/ready`)).json()) as { stream_resets: number; last_stream_reset: { at: string; reason: string } | null };
const send = (events: unknown[]) =>
  fetch(`${producer.url}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });

describe('a stream lost with a Redis restart', () => {
  it('is reported by the producer and the processor: error log, logstream_stream_reset_total, /ready detail', async () => {
    expect((await send([{ message: 'stored before' }])).status).toBe(202);
    await waitFor('the first event stored', async () => Number((await t.pool.query('SELECT count(*) AS n FROM logs')).rows[0].n) === 1);
    for (const s of [producer, processor]) {
      expect(await resetCount(s)).toBe(0);
      expect(await ready(s)).toMatchObject({ stream_resets: 0, last_stream_reset: null });
    }

    // A backlog the processor does not read: it is frozen while 2,000 events are accepted.
    processor.proc.kill('SIGSTOP');
    for (let i = 0; i < 4; i++) {
      expect((await send(Array.from({ length: 500 }, (_, k) => ({ message: `backlog ${i * 500 + k}` })))).status).toBe(202);
    }
    await new Promise((r) => setTimeout(r, 1_500)); // the producer's watch has looked at the grown stream
    await redis.restart(); // no append-only file, no snapshot: it comes back empty
    processor.proc.kill('SIGCONT');

    for (const s of [producer, processor]) {
      await waitFor(`${s.name} to count the reset`, async () => (await resetCount(s)) >= 1, 20_000, 100);
      const detail = await ready(s);
      expect(detail.stream_resets).toBe(1);
      expect(detail.last_stream_reset!.reason).toMatch(new RegExp(`${t.stream}|${t.group}`));
      const line = s.output.map((l) => { try { return JSON.parse(l); } catch { return {}; } }).find((r) => /^stream reset/.test(r.msg ?? ''));
      expect(line, `${s.name} logged no "stream reset" line`).toBeDefined();
      expect(line.level).toBe(50); // pino error
    }
    // The pipeline goes on after the loss.
    expect((await send([{ message: 'stored after' }])).status).toBe(202);
    await waitFor('the event after the reset stored', async () => (await t.pool.query("SELECT 1 FROM logs WHERE message = 'stored after'")).rowCount === 1, 20_000);
    // Counted once each, not once per check.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await resetCount(producer)).toBe(1);
    expect(await resetCount(processor)).toBe(1);
  }, 90_000);
});
