// A request's batch reaches Redis as one command. Checked with MONITOR on a private redis-server: on the shared one,
// MONITOR also echoes every other test file's traffic (multi-MB events from max-events.test.ts among it). MONITOR
// is read on a raw socket (test/helpers/redis-monitor.ts), not through ioredis's monitor().
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../test/helpers/private-redis.js';
import { monitorRedis } from '../../test/helpers/redis-monitor.js';
import { startService, stopAll, waitUntilReady, type Service } from '../../test/helpers/services.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/test-env.js';

let redisServer: PrivateRedis;
let t: TestEnv;
let producer: Service;

beforeAll(async () => {
  redisServer = await startPrivateRedis();
  t = await createTestEnv('roundtrip', { redisPort: redisServer.port });
  producer = await startService('producer', t.env);
  await waitUntilReady(producer);
});
afterAll(async () => {
  await stopAll();
  await t?.cleanup();
  await redisServer?.destroy();
});

it('sends a batch to Redis as one command (one round trip), not one request per event', async () => {
  const monitor = await monitorRedis('127.0.0.1', redisServer.port);
  const res = await fetch(`${producer.url}/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ message: `m${i}` }))),
  });
  expect(res.status).toBe(202);
  await new Promise((r) => setTimeout(r, 200));
  const commands = monitor.stop();
  // One EVALSHA (or EVAL after a script-cache loss) from the producer's connection carries the 50 events …
  const calls = commands.filter((c) => (c.cmd === 'evalsha' || c.cmd === 'eval') && c.args.includes(t.stream));
  expect(calls).toHaveLength(1);
  expect(calls[0]!.args.length).toBeGreaterThanOrEqual(4 + 50);
  // … and the script does the 50 XADDs inside Redis.
  expect(commands.filter((c) => c.cmd === 'xadd' && c.args[1] === t.stream && c.source === 'lua')).toHaveLength(50);
  expect(commands.filter((c) => c.cmd === 'xadd' && c.args[1] === t.stream && c.source !== 'lua')).toHaveLength(0);
});
