// soak: a minute at a third of the ingest rate (from this run's ingest scenario, else the last recorded one), one /live
// subscriber. After a warm-up, the run is cut into 3 windows; each window's ratios are its own end against its
// own start (issue 17): RSS of every service (target: no growth, ≤ 1.2×), and the stream lag in seconds of
// events (≤ 1 s); events/s accepted against the rate asked for (≥ 0.95×).
import type { Redis } from 'ioredis';
import type { Scenario } from '../lib/context.js';
import { startLoad } from '../lib/load.js';
import { ratioRow, round, type RatioRow, type Row } from '../lib/results.js';
import { startStack } from '../lib/stack.js';
import { MIN_REPETITIONS } from '../lib/stats.js';

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

type Sample = { t: number; rss: Record<string, number>; lag: number };

export const soak: Scenario = async (ctx) => {
  const ingest = ctx.done.ingest ?? ctx.previous?.scenarios.ingest;
  const ingestRate = ingest?.ratios?.find((r) => r.key === 'stored-vs-pg-ceiling')?.figure.spread?.median;
  // A third, not half: ingest has measured into an emptied table since 54cd4b7 (36,400/s at 15:32 UTC, where the
  // growing table of the runs before took 20-26k/s). Half of that is the edge of what a growing table takes: of two
  // quiet runs back to back (15:39 and 15:49 UTC) one fell 2.6 s of events behind (accepted 0.86× of the rate asked)
  // and the other kept up. A third is about half of the growing table's rate, the load this scenario was set at.
  const rate = Math.round((ingestRate ?? DEFAULT_RATE * 3) / 3 / 100) * 100;
  const windowSeconds = ctx.quick ? 3 : 15;
  // Heaps grow to their working size in the first seconds; the windows start after that.
  const warmup = ctx.quick ? 3 : 10;
  const seconds = warmup + MIN_REPETITIONS * windowSeconds + 1;
  ctx.log(`  ${rate} events/s for ${seconds} s (a third of ${ingestRate ? 'the ingest rate' : 'a default'}), ${MIN_REPETITIONS} windows of ${windowSeconds} s`);
  const stack = await startStack('soak', { producer: true, gateway: true, processors: 2, profileDir: ctx.profileDir });
  try {
    const load = startLoad<{ accepted: number; errors: number; lastError: string; received: number; dropped: number; seconds: number; cpuSec: number }>(
      'load/soak.ts',
      { producerUrl: stack.producer!.url, gatewayUrl: stack.gateway!.url, rate, seconds, batch: 100 },
      (t) => ctx.log(`  ${t}`),
    );
    const t0 = Date.now();
    const sample = async (): Promise<Sample> => ({ t: round((Date.now() - t0) / 1000), rss: stack.rss(), lag: await streamLag(stack.t.redis, stack.t.stream, stack.t.group) });
    const at = (s: number) => new Promise((r) => setTimeout(r, Math.max(0, t0 + s * 1000 - Date.now())));
    const samples: Sample[] = [];
    for (let w = 0; w <= MIN_REPETITIONS; w++) {
      await at(warmup + w * windowSeconds);
      samples.push(await sample());
    }
    const r = await load.result;
    const windows = samples.slice(1).map((end, i) => ({ start: samples[i]!, end }));
    const ratios: RatioRow[] = [
      ratioRow({
        key: 'accepted-vs-rate',
        metric: 'events/s accepted ÷ the rate asked for',
        better: 'higher',
        target: { op: '≥', value: 0.95 },
        figure: { name: 'events/s accepted', unit: '/s', values: [r.errors === 0 ? r.accepted / r.seconds : 0] },
        baseline: { name: 'events/s asked for (a third of the ingest rate)', unit: '/s', values: [rate] },
      }),
    ];
    for (const name of Object.keys(samples[0]!.rss)) {
      ratios.push(
        ratioRow({
          key: `rss-${name}`,
          metric: `${name} RSS at the end of a ${windowSeconds} s window ÷ at its start`,
          better: 'lower',
          target: { op: '≤', value: 1.2 },
          figure: { name: `${name} RSS at a window's end`, unit: 'MB', values: windows.map((w) => w.end.rss[name]) },
          baseline: { name: `${name} RSS at a window's start`, unit: 'MB', values: windows.map((w) => w.start.rss[name]) },
        }),
      );
    }
    ratios.push(
      ratioRow({
        key: 'lag-seconds',
        metric: 'stream lag at the end of a window ÷ one second of events',
        better: 'lower',
        target: { op: '≤', value: 1 },
        figure: { name: "stream lag at a window's end (entries)", unit: '', values: windows.map((w) => w.end.lag) },
        baseline: { name: 'events per second', unit: '', values: windows.map(() => rate) },
      }),
    );
    const rows: Row[] = [
      { metric: 'live subscriber: rows received / dropped', value: `${r.received} / ${r.dropped}`, unit: '', target: `${r.accepted} / 0`, pass: r.received === r.accepted && r.dropped === 0 },
    ];
    return { repetitions: MIN_REPETITIONS, ratios, rows, figures: { rate, seconds, windowSeconds, samples, load: r } };
  } finally {
    await stack.stop();
  }
};
