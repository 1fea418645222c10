// Overload (issue 11 point 1): a client that resends every request not answered 202, as every log shipper does,
// against a producer given more than it can take at once (16 concurrent POST /send of 10,000 events), ends with
// exactly one row per event. On d804265 this stored events twice: the 2 s Redis command timeout answered 503 for
// batches Redis then stored. Here a refusal (503 `unavailable`, 429) comes before anything is sent, and a batch that
// was sent is answered only once Redis has replied. Real producer, processors, Redis and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, stopAll, waitUntilReady, type Service } from '../helpers/services.js';
import { createTestEnv, sleep, waitFor, type TestEnv } from '../helpers/test-env.js';

const CLIENTS = 16;
const EVENTS_PER_REQUEST = 10_000;
const ROUNDS = 1;
// A client gives up resending after this long (on d804265 the retries never got through: 2 of 418 answered 202).
const GIVE_UP_MS = 150_000;

let t: TestEnv;
let producer: Service;

beforeAll(async () => {
  t = await createTestEnv('overload');
  const env = { ...t.env, BLOCK_MS: '200', BATCH_SIZE: '5000' };
  [producer] = await Promise.all([startService('producer', env), startService('processor', env), startService('processor', env)]);
  await waitUntilReady(producer);
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

describe('overload', () => {
  it('a client that resends every non-202 answer stores each event exactly once', async () => {
    const statuses = new Map<string, number>();
    const count = (k: string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
    let requests = 0;

    const giveUpAt = Date.now() + GIVE_UP_MS;
    let unanswered = 0;
    async function client(c: number): Promise<void> {
      for (let round = 0; round < ROUNDS; round++) {
        const body = JSON.stringify(Array.from({ length: EVENTS_PER_REQUEST }, (_, i) => ({ message: `c${c}-r${round}-${i}`, service: 'overload', attributes: { pad: 'x'.repeat(400) } })));
        for (;;) {
          if (Date.now() > giveUpAt) {
            unanswered++;
            break;
          }
          requests++;
          try {
            const res = await fetch(`${producer.url}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(60_000) });
            const answer = (await res.json()) as { error?: string };
            count(res.status === 202 ? '202' : `${res.status} ${answer.error}`);
            if (res.status === 202) break;
          } catch (err) {
            count((err as Error).name);
          }
          await sleep(50 + Math.random() * 100);
        }
      }
    }
    const progress = setInterval(() => console.log(`[overload] so far ${requests} requests: ${JSON.stringify(Object.fromEntries(statuses))}`), 5_000);
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c))).finally(() => clearInterval(progress));
    console.log(`[overload] ${requests} requests for ${CLIENTS * ROUNDS} batches: ${JSON.stringify(Object.fromEntries(statuses))}`);

    for (const line of producer.output) if (/"level":[456]0/.test(line)) console.log('[producer]', line.slice(0, 400));
    expect(unanswered, 'batches never answered 202').toBe(0);
    const total = CLIENTS * ROUNDS * EVENTS_PER_REQUEST;
    // Every request ended 202, so every event is in the stream at least once; wait until the processors have
    // stored the whole stream (group lag and pending 0), then count.
    await waitFor('the stream drained', async () => {
      const groups = (await t.redis.xinfo('GROUPS', t.stream)) as unknown[][];
      const g = groups[0];
      if (!g) return false;
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
      return Number(info.get('lag')) === 0 && Number(info.get('pending')) === 0;
    }, 120_000, 200);
    const { rows } = await t.pool.query<{ rows: number; messages: number }>(
      "SELECT count(*)::int AS rows, count(DISTINCT message)::int AS messages FROM logs WHERE service = 'overload'",
    );
    expect(rows[0]).toEqual({ rows: total, messages: total });
    // The stream itself received each event once: no batch was written twice (entries-added counts trimmed ones).
    const info = (await t.redis.xinfo('STREAM', t.stream)) as unknown[];
    expect(Number(info[info.indexOf('entries-added') + 1])).toBe(total);
    // The outcome of a sent batch is unknown only when Redis has not answered for REDIS_REPLY_TIMEOUT_MS (5 s); the
    // in-flight cap keeps its replies far inside that here.
    expect(statuses.get('503 outcome_unknown') ?? 0).toBe(0);
  }, 300_000);
});
