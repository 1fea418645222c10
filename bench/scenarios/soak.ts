// soak: 60 s at half the ingest rate (from this run's ingest scenario, else the last recorded one), one /live
// subscriber. Targets: no memory growth in any service, no growth of the stream lag.
import type { Redis } from 'ioredis';
import type { Scenario } from '../lib/context.js';
import { startLoad } from '../lib/load.js';
import { round, type Row } from '../lib/results.js';
import { startStack } from '../lib/stack.js';

const DEFAULT_RATE = 5000;

/** Entries in the stream not yet delivered to the group, plus those delivered and not yet acked. */
async function streamLag(redis: Redis, stream: string, group: string): Promise<number> {
  const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  for (const g of groups) {
    const o: Record<string, unknown> = {};
    for (let i = 0; i + 1 < g.length; i += 2) o[String(g[i])] = g[i + 1];
    if (o.name === group) return Number(o.lag ?? 0) + Number(o.pending ?? 0);
  }
  return 0;
}

export const soak: Scenario = async (ctx) => {
  const ingestRate = (ctx.done.ingest ?? ctx.previous?.scenarios.ingest)?.figures.storedPerSec as number | undefined;
  const rate = Math.round((ingestRate ?? DEFAULT_RATE * 2) / 2 / 100) * 100;
  const seconds = ctx.quick ? 8 : 60;
  // Heaps grow to their working size in the first seconds; the window starts after that.
  const warmup = ctx.quick ? 3 : 10;
  ctx.log(`  ${rate} events/s for ${seconds} s (half of ${ingestRate ? 'the ingest rate' : 'a default'})`);
  const stack = await startStack('soak', { producer: true, gateway: true, processors: 2, profileDir: ctx.profileDir });
  try {
    const load = startLoad<{ accepted: number; errors: number; lastError: string; received: number; dropped: number; seconds: number; cpuSec: number }>(
      'load-soak.ts',
      { producerUrl: stack.producer!.url, gatewayUrl: stack.gateway!.url, rate, seconds, batch: 100 },
      (t) => ctx.log(`  ${t}`),
    );
    const samples: { t: number; rss: Record<string, number>; lag: number }[] = [];
    const t0 = Date.now();
    let finished = false;
    const result = load.result.finally(() => (finished = true));
    await new Promise((r) => setTimeout(r, warmup * 1000));
    while (!finished && Date.now() - t0 < (seconds + 1) * 1000) {
      samples.push({ t: round((Date.now() - t0) / 1000), rss: stack.rss(), lag: await streamLag(stack.t.redis, stack.t.stream, stack.t.group) });
      await Promise.race([result.catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
    }
    const r = await result;
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    const rows: Row[] = [
      { metric: 'events/s accepted', value: round(r.accepted / r.seconds, 0), unit: '/s', target: `${rate}`, pass: r.errors === 0 && r.accepted / r.seconds >= rate * 0.95 },
    ];
    for (const name of Object.keys(first.rss)) {
      const a = first.rss[name]!;
      const b = last.rss[name]!;
      // RSS moves with GC cycles; growth beyond 20% + 10 MB over the window is growth, not noise.
      rows.push({ metric: `${name} RSS at ${first.t} s → ${last.t} s`, value: `${a} → ${b} MB`, unit: '', target: 'no growth', pass: b <= a * 1.2 + 10 });
    }
    rows.push({ metric: `stream lag at ${first.t} s → ${last.t} s`, value: `${first.lag} → ${last.lag}`, unit: '', target: 'no growth', pass: last.lag <= Math.max(first.lag, rate) });
    rows.push({ metric: 'live subscriber: rows received / dropped', value: `${r.received} / ${r.dropped}`, unit: '', target: `${r.accepted} / 0`, pass: r.received === r.accepted && r.dropped === 0 });
    return { repetitions: 1, ratios: [], figures: { rate, seconds, samples, load: r }, rows };
  } finally {
    await stack.stop();
  }
};
