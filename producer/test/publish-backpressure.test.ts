// WebSocket /publish with a client that stops reading its replies (issue 11 point 6), against the real producer
// and Redis: every frame gets its reply, in order, or the connection is closed with a reason, and then no frame
// after the last reply was stored. On d804265 replies over uWS's maxBackpressure were dropped without a word.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, stopAll, waitUntilReady, type Service } from '../../test/helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from '../../test/helpers/test-env.js';

let t: TestEnv;
let producer: Service;

beforeAll(async () => {
  t = await createTestEnv('publish_bp');
  producer = await startService('producer', t.env);
  await waitUntilReady(producer);
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

interface Reply {
  type: 'ack' | 'error';
  ids?: string[];
  error?: string;
}

/** Send `frames` frames without reading a reply, wait until the producer stops storing, then read everything. */
async function publishWithoutReading(prefix: string, frames: number, pacedFrames: number): Promise<{ replies: Reply[]; close: { code: number; reason: string } }> {
  const ws = new WebSocket(`${producer.url.replace('http', 'ws')}/publish`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const before = await t.redis.xlen(t.stream);
  const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();
  const replies: Reply[] = [];
  ws.on('message', (d) => replies.push(JSON.parse(d.toString())));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  // The first `paced` frames in bursts of 200, each once the previous one is stored (so that frames are stored rather
  // than refused as too_many_in_flight, 256 awaiting Redis), until the producer holds frames back; the rest at once.
  let paced = true;
  let valid = 0;
  for (let i = 0; i < frames; i++) {
    // Every tenth frame is invalid, so that rejections (error replies) are interleaved with acks.
    if (i % 10 === 9) ws.send(JSON.stringify({ message: `${prefix}-${i}`, level: 'no-such-level' }));
    else {
      ws.send(JSON.stringify({ message: `${prefix}-${i}` }));
      valid++;
    }
    if (paced && i < pacedFrames && i % 200 === 199) {
      const target = valid;
      paced = await waitFor('the burst stored', async () => (await t.redis.xlen(t.stream)) - before >= target || undefined, 2_000, 5).then(() => true, () => false);
    }
  }
  // Let the producer take whatever it will while nothing is read: until the stream stops growing for a second.
  let last = -1;
  await waitFor('the producer to stop storing', async () => {
    const n = await t.redis.xlen(t.stream);
    const stable = n === last;
    last = n;
    return stable;
  }, 60_000, 1_000);
  socket.resume();
  // Read until every reply is in, the server closes, or replies stop coming for 5 s (d804265: dropped replies).
  let seen = -1;
  let seenAt = Date.now();
  const stalled = waitFor('every reply, a close, or a stall', () => {
    if (replies.length !== seen) [seen, seenAt] = [replies.length, Date.now()];
    return replies.length === frames || Date.now() - seenAt > 5_000;
  }, 120_000, 100);
  const closedFirst = await Promise.race([closed.then(() => true), stalled.then(() => false)]);
  if (!closedFirst) ws.close();
  const close = await closed;
  return { replies, close: closedFirst ? close : { code: 0, reason: 'closed by the client' } };
}

async function storedMessages(prefix: string): Promise<Map<string, string>> {
  const entries = (await t.redis.xrange(t.stream, '-', '+')) as [string, string[]][];
  const out = new Map<string, string>();
  for (const [, f] of entries) {
    // The ack's ids are the event ids.
    const { message: m, eid } = JSON.parse(f[1]!) as { message: string; eid: string };
    if (m.startsWith(`${prefix}-`)) {
      expect(out.has(m), `${m} stored twice`).toBe(false);
      out.set(m, eid);
    }
  }
  return out;
}

describe('/publish replies under backpressure', () => {
  it('a client that stops reading gets every reply in order, or a close with a reason and nothing stored after its last reply', async () => {
    // As on d804265's report: 150,000 frames, replies far over what the kernel's socket buffers and uWS's hold.
    const frames = 150_000;
    const { replies, close } = await publishWithoutReading('bp', frames, 10_000);
    const stored = await storedMessages('bp');
    const kinds: Record<string, number> = {};
    for (const r of replies) kinds[r.error ?? r.type] = (kinds[r.error ?? r.type] ?? 0) + 1;
    console.log(`[publish-bp] ${JSON.stringify(kinds)}: ${replies.length} replies of ${frames} frames, ${stored.size} stored, close ${close.code} ${JSON.stringify(close.reason)}`);
    if (replies.length < frames) {
      expect(close.code, `${frames - replies.length} frames without a reply`).toBe(1008);
      expect(close.reason).toMatch(/acks not read/);
    }
    const acked = new Set<string>();
    replies.forEach((r, i) => {
      const message = `bp-${i}`;
      if (r.type === 'ack') {
        expect(i % 10, `frame ${i} is invalid but was acked`).not.toBe(9);
        // In order: the i-th reply is the i-th frame's.
        expect(stored.get(message), `reply ${i}`).toBe(r.ids![0]);
        acked.add(message);
      } else {
        expect(r.type).toBe('error');
        expect(r.error).toMatch(i % 10 === 9 ? /^(invalid_event|too_many_in_flight)$/ : /^(too_many_in_flight|unavailable)$/);
        expect(stored.has(message), `frame ${i} answered ${r.error} but stored`).toBe(false);
      }
    });
    // Nothing stored without its ack: the frames after the last reply were not stored.
    expect([...stored.keys()].filter((m) => !acked.has(m))).toEqual([]);
  }, 180_000);

  it('a client that reads late gets every reply when its replies fit the buffers', async () => {
    const frames = 2_000;
    const { replies, close } = await publishWithoutReading('late', frames, frames);
    expect(replies.length).toBe(frames);
    expect(close.code).toBe(0);
    const stored = await storedMessages('late');
    const acked = replies.filter((r, i) => {
      if (i % 10 === 9) expect(r.error).toMatch(/^(invalid_event|too_many_in_flight)$/);
      // A valid frame is acked, or refused (too_many_in_flight: over 256 frames awaiting Redis) and not stored.
      if (r.type === 'ack') expect(r.ids![0], `reply ${i}`).toBe(stored.get(`late-${i}`));
      else expect(stored.has(`late-${i}`)).toBe(false);
      return r.type === 'ack';
    });
    expect(acked.length).toBe(stored.size);
    expect(acked.length).toBeGreaterThan(0);
  });
});
