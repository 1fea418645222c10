// latency: 1,000 events/s as single events (GET /send), one /live subscriber; send→receive in one process. Each
// repetition also measures the bare hops the pipeline cannot avoid, with the same clients (issue 17): one
// XADD→XREADGROUP round and one INSERT…NOTIFY→LISTEN round, one round at a time (bench/load/hops.ts), and one
// uWS send→receive (the same load generator, same rate, against bench/baselines/bare-uws.ts); logstream's p50 and p99 are
// reported as multiples of the hops' sum. Also: a 1,000-event batch visible in /logs (issue 2).
import type { Scenario } from '../lib/context.js';
import { startLoad } from '../lib/load.js';
import { bucketQuantile, bucketsBetween, formatBound, histogramBuckets } from '../lib/prom.js';
import { fmtSpread, ratioRow, type Row } from '../lib/results.js';
import { startStack } from '../lib/stack.js';
import { median, MIN_REPETITIONS, repeat, spread } from '../lib/stats.js';
import { PG_HOST, PG_PORT, PG_USER, REDIS_HOST, REDIS_PORT } from '../../test/helpers/test-env.js';

const PUSH = 'logstream_store_push_latency_seconds';
const REQ = 'logstream_http_request_duration_seconds';
const RATE = 1000;

type Summary = { n: number; p50: number | null; p95: number | null; p99: number | null; max: number | null };
type LatencyResult = { sent: number; rate: number; received: number; lost: number; duplicates: number; sendErrors: number; lastError: string; sendToReceive: Summary; accept: Summary; batchVisible: Summary };
type HopsResult = { redis: Summary; postgres: Summary };

interface Repetition {
  pipeline: LatencyResult;
  server: { producerRequest: { p50: number | null; p99: number | null }; receiptToPush: { p50: number | null; p99: number | null } };
  hops: { redis: Summary; postgres: Summary; uws: Summary };
  uwsLost: number;
}

export const latency: Scenario = async (ctx) => {
  const seconds = ctx.quick ? 2 : 6;
  const hopSeconds = ctx.quick ? 1.5 : 3;
  const warmupSeconds = 1;
  const stack = await startStack('latency', { producer: true, gateway: true, processors: 2, profileDir: ctx.profileDir });
  const bare = startLoad<unknown>('baselines/bare-uws.ts', { spacing: 'none' }, (t) => ctx.log(`  bare uWS: ${t}`));
  try {
    const { port } = (await bare.next('listening')) as unknown as { port: number };
    const bareUrl = `http://127.0.0.1:${port}`;
    const gw = stack.gateway!.url;
    const pr = stack.producer!.url;

    const measurePipeline = async () => {
      const load = startLoad<LatencyResult>('load/latency.ts', { producerUrl: pr, gatewayUrl: gw, rate: RATE, seconds, warmupSeconds, visibleBatches: ctx.quick ? 2 : 4 }, (t) => ctx.log(`  ${t}`));
      // Server-side view of the same events, from the services' own histograms: producer request time of GET /send,
      // and producer receipt → gateway push. Where these are small and send→receive is not, the load generator (or
      // the machine's CPU queue) is the delay.
      const [gw0, pr0] = await Promise.all([histogramBuckets(gw, PUSH), histogramBuckets(pr, REQ, { route: 'GET /send' })]);
      await load.next('streamed');
      const [gw1, pr1] = await Promise.all([histogramBuckets(gw, PUSH), histogramBuckets(pr, REQ, { route: 'GET /send' })]);
      load.send({ type: 'continue' });
      const push = bucketsBetween(gw0, gw1);
      const req = bucketsBetween(pr0, pr1);
      const server = {
        producerRequest: { p50: bucketQuantile(req, 0.5), p99: bucketQuantile(req, 0.99) },
        receiptToPush: { p50: bucketQuantile(push, 0.5), p99: bucketQuantile(push, 0.99) },
      };
      const pipeline = await load.result;
      if (pipeline.sendErrors > 0) ctx.log(`  ${pipeline.sendErrors} failed sends; last: ${pipeline.lastError}`);
      return { pipeline, server };
    };
    const measureHops = async () => {
      const t = stack.t;
      const hops = await startLoad<HopsResult>(
        'load/hops.ts',
        {
          redis: { host: REDIS_HOST, port: REDIS_PORT, stream: `${t.stream}:hops` },
          pg: { host: PG_HOST, port: PG_PORT, user: PG_USER, database: t.database, channel: t.channel },
          seconds: hopSeconds,
          warmupRounds: 100,
        },
        (x) => ctx.log(`  ${x}`),
      ).result;
      const uwsLoad = startLoad<LatencyResult>('load/latency.ts', { producerUrl: bareUrl, gatewayUrl: bareUrl, rate: RATE, seconds: hopSeconds, warmupSeconds, visibleBatches: 0 }, () => {});
      await uwsLoad.next('streamed');
      uwsLoad.send({ type: 'continue' });
      const uws = await uwsLoad.result;
      return { hops: { redis: hops.redis, postgres: hops.postgres, uws: uws.sendToReceive }, uwsLost: uws.lost };
    };

    const reps: Repetition[] = await repeat(MIN_REPETITIONS, async (i, baselineFirst) => {
      const h1 = baselineFirst ? await measureHops() : undefined;
      const p = await measurePipeline();
      const h = h1 ?? (await measureHops());
      const sum = (q: 'p50' | 'p99') => (h.hops.redis[q] ?? NaN) + (h.hops.postgres[q] ?? NaN) + (h.hops.uws[q] ?? NaN);
      ctx.log(`  run ${i + 1}: send→receive p50 ${p.pipeline.sendToReceive.p50} / p99 ${p.pipeline.sendToReceive.p99} ms; bare hops' sum p50 ${sum('p50').toFixed(2)} / p99 ${sum('p99').toFixed(2)} ms`);
      return { ...p, ...h };
    });

    const col = <T>(f: (r: Repetition) => T) => reps.map(f);
    const hopSum = (q: 'p50' | 'p99') => col((r) => (r.hops.redis[q] ?? NaN) + (r.hops.postgres[q] ?? NaN) + (r.hops.uws[q] ?? NaN));
    const ratios = (['p50', 'p99'] as const).map((q) =>
      ratioRow({
        key: `${q}-vs-hops`,
        metric: `send→receive ${q} ÷ the bare hops' ${q}s summed (XADD→XREADGROUP + INSERT…NOTIFY→LISTEN + uWS send→receive)`,
        better: 'lower',
        target: { op: '≤', value: q === 'p50' ? 3 : 4 },
        figure: { name: `send→receive ${q} (${RATE} events/s)`, unit: 'ms', values: col((r) => r.pipeline.sendToReceive[q]) },
        baseline: { name: `bare hops' ${q}s summed`, unit: 'ms', values: hopSum(q) },
      }),
    );
    const ms = (f: (r: Repetition) => number | null | undefined) => fmtSpread(spread(col(f)), 'ms');
    // Median of bucket bounds, Infinity (beyond the last bucket) included.
    const bound = (f: (r: Repetition) => number | null) => {
      const xs = col(f).filter((v): v is number => v !== null);
      return formatBound(xs.length ? median(xs) : null);
    };
    const lost = col((r) => r.pipeline.lost).reduce((a, b) => a + b, 0);
    const dup = col((r) => r.pipeline.duplicates).reduce((a, b) => a + b, 0);
    const rows: Row[] = [
      { metric: 'bare hop: XADD → XREADGROUP, p50 / p99', value: `${ms((r) => r.hops.redis.p50)} / ${ms((r) => r.hops.redis.p99)}`, unit: '', pass: null },
      { metric: 'bare hop: INSERT…NOTIFY → LISTEN, p50 / p99', value: `${ms((r) => r.hops.postgres.p50)} / ${ms((r) => r.hops.postgres.p99)}`, unit: '', pass: null },
      { metric: 'bare hop: GET /send → uWS publish → ws receive, p50 / p99', value: `${ms((r) => r.hops.uws.p50)} / ${ms((r) => r.hops.uws.p99)}`, unit: '', pass: null },
      { metric: 'send→receive max', value: ms((r) => r.pipeline.sendToReceive.max), unit: '', pass: null },
      { metric: 'events lost / duplicated on /live', value: `${lost} / ${dup}`, unit: '', target: '0 / 0', pass: lost === 0 && dup === 0 },
      { metric: 'GET /send answered, p50 / p99', value: `${ms((r) => r.pipeline.accept.p50)} / ${ms((r) => r.pipeline.accept.p99)}`, unit: '', pass: null },
      { metric: 'server side (medians): GET /send handled, p50 / p99', value: `${bound((r) => r.server.producerRequest.p50)} / ${bound((r) => r.server.producerRequest.p99)}`, unit: '', pass: null },
      { metric: 'server side (medians): producer receipt → gateway push, p50 / p99', value: `${bound((r) => r.server.receiptToPush.p50)} / ${bound((r) => r.server.receiptToPush.p99)}`, unit: '', pass: null },
      { metric: '1,000-event POST visible in /logs, p50 / max', value: `${ms((r) => r.pipeline.batchVisible.p50)} / ${ms((r) => r.pipeline.batchVisible.max)}`, unit: '', pass: null },
    ];
    return { repetitions: reps.length, ratios, rows, figures: { rate: RATE, seconds, hopSeconds, repetitions: reps } };
  } finally {
    bare.send({ type: 'stop' });
    await bare.result.catch(() => {});
    await stack.stop();
  }
};
