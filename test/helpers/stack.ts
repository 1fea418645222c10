// A whole stack (producer, processor, gateway) as real processes on this test's own database and stream, and a
// way to read back what was stored through the gateway's GET /logs (CONTRACT §5), as a user would see it.
import { startService, stopAll, waitUntilReady, type Service } from './services.js';
import { createTestEnv, waitFor, type TestEnv } from './test-env.js';

export interface LogItem {
  id: number;
  timestamp: string;
  received_at: string;
  level: string;
  service: string;
  message: string;
  attributes: Record<string, unknown>;
}

export interface Stack {
  t: TestEnv;
  producer: Service;
  processor: Service;
  gateway: Service;
  /** GET /logs with these query parameters (limit 1000), oldest first. */
  logs(query?: Record<string, string>): Promise<LogItem[]>;
  /** Wait until GET /logs answers at least `n` items for the query; returns them oldest first. */
  waitLogs(n: number, query?: Record<string, string>, timeoutMs?: number): Promise<LogItem[]>;
  stop(): Promise<void>;
}

export async function startStack(prefix: string, env: Record<string, string> = {}): Promise<Stack> {
  const t = await createTestEnv(prefix);
  const all = { ...t.env, BLOCK_MS: '100', ...env };
  const [producer, processor, gateway] = await Promise.all([startService('producer', all), startService('processor', all), startService('gateway', all)]);
  await Promise.all([waitUntilReady(producer), waitUntilReady(gateway)]);
  const logs = async (query: Record<string, string> = {}) => {
    const res = await fetch(`${gateway.url}/logs?${new URLSearchParams({ limit: '1000', ...query })}`);
    if (res.status !== 200) throw new Error(`GET /logs: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { items: LogItem[] }).items.reverse();
  };
  return {
    t,
    producer,
    processor,
    gateway,
    logs,
    waitLogs: (n, query, timeoutMs = 60_000) =>
      waitFor(`${n} rows for ${JSON.stringify(query ?? {})}`, async () => {
        const items = await logs(query);
        return items.length >= n ? items : undefined;
      }, timeoutMs, 100),
    async stop() {
      await stopAll();
      await t.cleanup();
    },
  };
}
