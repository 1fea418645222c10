// Events at the size limits (issue 11, point 2): the producer refuses an event over MAX_EVENT_BYTES with 413 and
// stores nothing of its request; a stream full of maximal events is read and stored by real processors in
// statements of bounded size, every event once.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EVENT_BYTES, MAX_MESSAGE_BYTES } from '@logstream/shared/event.js';
import { BATCH_MAX_BYTES, nextReadCount, splitByBytes } from '../processor/src/batch-bytes.js';
import { startService, stopAll, waitUntilReady, type Service } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
let producer: Service;

beforeAll(async () => {
  t = await createTestEnv('maxev');
  producer = await startService('producer', t.env);
  await waitUntilReady(producer);
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

const post = (events: unknown) =>
  fetch(`${producer.url}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });

/** An event whose stream entry is just under MAX_EVENT_BYTES: a full message and attributes of random text. */
function maximalEvent(i: number): Record<string, unknown> {
  const attributes: Record<string, string> = {};
  // 64 KiB of message, 180 KiB of random attributes, and a filler up to 1,000 bytes under the cap (the entry's
  // event id, timestamps and keys take under 400).
  for (let k = 0; k < 3; k++) attributes[`a${k}`] = randomBytes(30 * 1024).toString('hex');
  attributes.fill = 'f'.repeat(MAX_EVENT_BYTES - MAX_MESSAGE_BYTES - 3 * 60 * 1024 - 1000);
  return { message: `max-${i} ${'m'.repeat(MAX_MESSAGE_BYTES - 20)}`, service: 'max', attributes };
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('events at the size limits', () => {
  it('answers 413 event_too_large for an event over MAX_EVENT_BYTES, naming it, and stores nothing of the batch', async () => {
    const big = { message: 'too big', attributes: Object.fromEntries(Array.from({ length: 8 }, (_, k) => [`k${k}`, 'x'.repeat(40_000)])) };
    const before = await t.redis.xlen(t.stream);
    const res = await post([{ message: 'fine' }, { message: 'fine too' }, big]);
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: string; message: string; details: { index: number }[] };
    expect(body.error).toBe('event_too_large');
    expect(body.message).toContain(String(MAX_EVENT_BYTES));
    expect(body.details[0]!.index).toBe(2);
    expect(await t.redis.xlen(t.stream)).toBe(before);

    const ok = await post(maximalEvent(-1));
    expect(ok.status).toBe(202);
    const [, fields] = (await t.redis.xrevrange(t.stream, '+', '-', 'COUNT', 1))[0]!;
    const entryBytes = Buffer.byteLength(fields[1]!);
    expect(entryBytes).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(entryBytes).toBeGreaterThan(MAX_EVENT_BYTES - 4096);
  });

  it('stores a stream full of maximal events, every one once, in statements of at most BATCH_MAX_BYTES', async () => {
    const n = 600;
    // Written before any processor runs, so that the first read takes the whole backlog (150 MB) at once.
    const perRequest = 36; // 36 × 256 KiB = 9 MiB, under MAX_BODY_BYTES
    for (let i = 0; i < n; i += perRequest) {
      const res = await post(Array.from({ length: Math.min(perRequest, n - i) }, (_, k) => maximalEvent(i + k)));
      expect(res.status).toBe(202);
    }
    const processors = await Promise.all([startService('processor', t.env), startService('processor', t.env)]);
    const stored = await waitFor(
      'every maximal event stored',
      async () => {
        const { rows } = await t.pool.query<{ n: number; distinct: number }>(
          `SELECT count(*)::int AS n, count(DISTINCT split_part(message, ' ', 1))::int AS distinct FROM logs WHERE service = 'max'`,
        );
        return rows[0]!.n >= n + 1 && rows[0]!;
      },
      120_000,
      250,
    );
    expect(stored).toEqual({ n: n + 1, distinct: n + 1 });
    // Nothing left behind: no pending entry, no dead letter.
    expect(await t.redis.xlen(`${t.stream}:dlq`)).toBe(0);
    const statements = [];
    for (const p of processors) statements.push(metric(await (await fetch(`${p.url}/metrics`)).text(), 'logstream_insert_duration_seconds_count'));
    // ~150 MB of entries cannot go in fewer than 150 MB / 16 MiB statements; before, it was one statement.
    const totalBytes = (n + 1) * (MAX_EVENT_BYTES - 4096);
    expect(statements.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(Math.floor(totalBytes / BATCH_MAX_BYTES));
    const logs = processors.flatMap((p) => p.output).join('\n');
    expect(logs).not.toMatch(/Invalid string length|cannot store batch/);
  }, 180_000);
});

describe('batch byte bounds (pure)', () => {
  it('adapts the read count to the entry size and splits runs by bytes', () => {
    // Maximal entries: 64 fit the budget; small ones: back to BATCH_SIZE, growing at most fourfold per read.
    expect(nextReadCount(1000, 1000, 1000 * MAX_EVENT_BYTES, 1000)).toBe(64);
    expect(nextReadCount(64, 64, 64 * 300, 1000)).toBe(256);
    expect(nextReadCount(256, 256, 256 * 300, 1000)).toBe(1000);
    expect(nextReadCount(7, 0, 0, 1000)).toBe(7);
    const runs = splitByBytes([5, 5, 5, 20, 1], (x) => x, 10);
    expect(runs).toEqual([[5, 5], [5], [20], [1]]);
  });
});
