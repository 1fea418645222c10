// latency: 1,000 events/s as single events (GET /send), one /live subscriber; send→receive in one process. Each
// repetition also measures the bare hops the pipeline cannot avoid, with the same clients (issue 17): one
// XADD→XREADGROUP round and one INSERT…NOTIFY→LISTEN round, one round at a time (bench/load/hops.ts), and one
// uWS send→receive (the same load generator, same rate, against bench/baselines/bare-uws.ts); logstream's p50 and p99 are
// reported as multiples of the hops' sum. Like with like, the same hops chained in three processes
// (bench/baselines/bare-chain.ts) driven by the same client at the same rate, in alternating 1 s slices of the
// pipeline's own run (so that both see the same seconds of the machine): the pipeline's figures as multiples of
// the chain's too. Where the time goes: received_at splits send→receive into client → producer and producer →
// client, the services' histograms give receipt → push and NOTIFY → push, and the client reports its own event-loop
// delay and how late its open-loop schedule ran. Also: a 1,000-event batch visible in /logs (issue 2).
import type { Scenario } from '../lib/context.js';
import { startLoad } from '../lib/load.js';
import { bucketQuantile, bucketsBetween, formatBound, histogramBuckets } from '../lib/prom.js';
import { fmtSpread, ratioRow, type Row } from '../lib/results.js';
import { emptyLogs } from '../lib/ingest-run.js';
import { startStack } from '../lib/stack.js';
import { median, MIN_REPETITIONS, repeat, spread } from '../lib/stats.js';
import { PG_HOST, PG_PORT, PG_USER, REDIS_HOST, REDIS_PORT } from '../../test/helpers/test-env.js';

// NOTIFY arrival → push (the gateway's share) and producer receipt → push (the whole server side, per row).
const PUSH = 'logstream_store_push_latency_seconds';
const INGEST_PUSH = 'logstream_ingest_push_latency_seconds';
const REQ = 'logstream_http_request_duration_seconds';
const RATE = 1000;

type Summary = { n: number; p50: number | null; p95: number | null; p99: number | null; max: number | null };
type Breakdown = { toProducer: Summary; fromProducer: Summary; lateSend: Summary; loopDelay: { p50: number; p99: number; max: number } };
type LatencyResult = { sent: number; rate: number; received: number; lost: number; duplicates: number; sendErrors: number; lastError: string; sendToReceive: Summary; accept: Summary; batchVisible: Summary; breakdown: Breakdown };
type HopsResult = { redis: Summary; postgres: Summary };

type Q = { p50: number | null; p99: number | null };

interface Repetition {
  pipeline: LatencyResult;
  server: { producerRequest: Q; notifyToPush: Q; receiptToPush: Q };
  hops: { redis: Summary; postgres: Summary; uws: Summary };
  uwsLost: number;
  uwsBreakdown: Breakdown;
  chain: LatencyResult;
}

export const latency: Scenario = async (ctx) => {
  // Seconds of the pipeline and of the bare chain each, in alternating 1 s slices of one load generator's run
  // (before: the pipeline 6 s, then the chain 4 s, each in a load generator of its own). 10 s each: a p99 of 10,000
  // events rests on its 100 slowest; at 5 s (50) the p99 ratios moved 1.4 → 1.98 (to the chain) and 2.45 → 4.82 (to
  // the hops, measured 2 s each then) between two quiet runs, 17:44 and 17:50 UTC.
  const seconds = ctx.quick ? 2 : 10;
  const sliceSeconds = 1;
  const hopSeconds = ctx.quick ? 1.5 : 4;
  const warmupSeconds = 1;
  const stack = await startStack('latency', { producer: true, gateway: true, processors: 2, profileDir: ctx.profileDir });
  const bare = startLoad<unknown>('baselines/bare-uws.ts', { spacing: 'none' }, (t) => ctx.log(`  bare uWS: ${t}`));
  const conn = {
    redis: { host: REDIS_HOST, port: REDIS_PORT, stream: `${stack.t.stream}:chain` },
    pg: { host: PG_HOST, port: PG_PORT, user: PG_USER, database: stack.t.database, channel: `${stack.t.channel}_chain` },
  };
  const chain = (['front', 'middle', 'back'] as const).map((role) => startLoad<unknown>('baselines/bare-chain.ts', { role, ...conn }, (t) => ctx.log(`  bare chain: ${t}`)));
  try {
    const { port } = (await bare.next('listening')) as unknown as { port: number };
    const bareUrl = `http://127.0.0.1:${port}`;
    const [front, , back] = (await Promise.all([chain[0]!.next('listening'), chain[1]!.next('ready'), chain[2]!.next('listening')])) as unknown as { port: number }[];
    const chainUrls = { producerUrl: `http://127.0.0.1:${front!.port}`, gatewayUrl: `http://127.0.0.1:${back!.port}` };
    const gw = stack.gateway!.url;
    const pr = stack.producer!.url;

    // The pipeline and the bare chain (bench/baselines/bare-chain.ts) driven by the same client at the same rate,
    // in turns of sliceSeconds (ABAB…): a machine that gets busier for a few seconds weighs on both.
    const measurePipeline = async (o = { seconds, visibleBatches: ctx.quick ? 2 : 4 }) => {
      // Each run into the same empty table (11,000 rows a run otherwise accumulate under the store statement).
      await emptyLogs(stack);
      const load = startLoad<LatencyResult & { alternate: LatencyResult }>(
        'load/latency.ts',
        { producerUrl: pr, gatewayUrl: gw, rate: RATE, warmupSeconds, alternate: chainUrls, sliceSeconds, ...o },
        (t) => ctx.log(`  ${t}`),
      );
      // Server-side view of the same events, from the services' own histograms: producer request time of GET /send,
      // and producer receipt → gateway push. Where these are small and send→receive is not, the load generator (or
      // the machine's CPU queue) is the delay.
      const snap = () => Promise.all([histogramBuckets(gw, PUSH), histogramBuckets(gw, INGEST_PUSH), histogramBuckets(pr, REQ, { route: 'GET /send' })]);
      const [gw0, in0, pr0] = await snap();
      await load.next('streamed');
      const [gw1, in1, pr1] = await snap();
      load.send({ type: 'continue' });
      const q = (b: ReturnType<typeof bucketsBetween>) => ({ p50: bucketQuantile(b, 0.5), p99: bucketQuantile(b, 0.99) });
      const server = { producerRequest: q(bucketsBetween(pr0, pr1)), notifyToPush: q(bucketsBetween(gw0, gw1)), receiptToPush: q(bucketsBetween(in0, in1)) };
      const { alternate: chain, ...pipeline } = await load.result;
      if (pipeline.sendErrors > 0) ctx.log(`  ${pipeline.sendErrors} failed sends; last: ${pipeline.lastError}`);
      if (chain.sendErrors > 0) ctx.log(`  bare chain: ${chain.sendErrors} failed sends; last: ${chain.lastError}`);
      return { pipeline, server, chain };
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
      return { hops: { redis: hops.redis, postgres: hops.postgres, uws: uws.sendToReceive }, uwsLost: uws.lost, uwsBreakdown: uws.breakdown };
    };

    // Unmeasured first (JIT, pools, the stream and the feed): at load average 12 the first repetition queued 2.6 s
    // of GET /send in front of a cold producer, twice, and the next ones did not.
    ctx.log('  warming up');
    await measurePipeline({ seconds: 1, visibleBatches: 0 });
    const reps: Repetition[] = await repeat(MIN_REPETITIONS, async (i, baselineFirst) => {
      const h1 = baselineFirst ? await measureHops() : undefined;
      const p = await measurePipeline();
      const h = h1 ?? (await measureHops());
      const sum = (q: 'p50' | 'p99') => (h.hops.redis[q] ?? NaN) + (h.hops.postgres[q] ?? NaN) + (h.hops.uws[q] ?? NaN);
      const b = p.pipeline.breakdown;
      ctx.log(`  run ${i + 1}: send→receive p50 ${p.pipeline.sendToReceive.p50} / p99 ${p.pipeline.sendToReceive.p99} ms; bare hops' sum p50 ${sum('p50').toFixed(2)} / p99 ${sum('p99').toFixed(2)} ms`);
      ctx.log(
        `    p50s: client → producer ${b.toProducer.p50}, producer → client ${b.fromProducer.p50} (server: receipt → push ${formatBound(p.server.receiptToPush.p50)}, NOTIFY → push ${formatBound(p.server.notifyToPush.p50)}); ` +
          `send late by ${b.lateSend.p50} / p99 ${b.lateSend.p99}; client event-loop delay p50 ${b.loopDelay.p50.toFixed(2)} / p99 ${b.loopDelay.p99.toFixed(2)} ms; ` +
          `bare uWS hop p50 ${h.hops.uws.p50}, its client → server ${h.uwsBreakdown.toProducer.p50}`,
      );
      const cb = p.chain.breakdown;
      ctx.log(
        `    bare chain: send→receive p50 ${p.chain.sendToReceive.p50} / p99 ${p.chain.sendToReceive.p99} ms (client → front ${cb.toProducer.p50}, front → client ${cb.fromProducer.p50}; ` +
          `client event-loop delay p50 ${cb.loopDelay.p50.toFixed(2)} ms); lost ${p.chain.lost}`,
      );
      return { ...p, ...h };
    });

    const col = <T>(f: (r: Repetition) => T) => reps.map(f);
    const hopSum = (q: 'p50' | 'p99') => col((r) => (r.hops.redis[q] ?? NaN) + (r.hops.postgres[q] ?? NaN) + (r.hops.uws[q] ?? NaN));
    const ratios = (['p50', 'p99'] as const).flatMap((q) => [
      ratioRow({
        key: `${q}-vs-hops`,
        metric: `send→receive ${q} ÷ the bare hops' ${q}s summed (XADD→XREADGROUP + INSERT…NOTIFY→LISTEN + uWS send→receive)`,
        better: 'lower',
        target: { op: '≤', value: q === 'p50' ? 3 : 4 },
        figure: { name: `send→receive ${q} (${RATE} events/s)`, unit: 'ms', values: col((r) => r.pipeline.sendToReceive[q]) },
        baseline: { name: `bare hops' ${q}s summed`, unit: 'ms', values: hopSum(q) },
      }),
      // Like with like: the same client, rate and schedule through the same hops chained in three processes,
      // on the machine as the pipeline loads it; no target yet (a first figure).
      ratioRow({
        key: `${q}-vs-chain`,
        metric: `send→receive ${q} ÷ the bare chain's (uWS → XADD → XREADGROUP → INSERT…NOTIFY → LISTEN → uWS, same client and rate)`,
        better: 'lower',
        figure: { name: `send→receive ${q} (${RATE} events/s)`, unit: 'ms', values: col((r) => r.pipeline.sendToReceive[q]) },
        baseline: { name: `bare chain: send→receive ${q}`, unit: 'ms', values: col((r) => r.chain.sendToReceive[q]) },
      }),
    ]);
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
      { metric: 'p50s, logstream: client → producer / producer → client (received_at splits it, ±1 ms)', value: `${ms((r) => r.pipeline.breakdown.toProducer.p50)} / ${ms((r) => r.pipeline.breakdown.fromProducer.p50)}`, unit: '', pass: null },
      { metric: 'p50s, bare chain: client → front / front → client', value: `${ms((r) => r.chain.breakdown.toProducer.p50)} / ${ms((r) => r.chain.breakdown.fromProducer.p50)}`, unit: '', pass: null },
      { metric: 'load generator: event-loop delay p50 / p99 (logstream runs; 1 ms is its floor), sends late on schedule p50 / p99', value: `${ms((r) => r.pipeline.breakdown.loopDelay.p50)} / ${ms((r) => r.pipeline.breakdown.loopDelay.p99)}; ${ms((r) => r.pipeline.breakdown.lateSend.p50)} / ${ms((r) => r.pipeline.breakdown.lateSend.p99)}`, unit: '', pass: null },
      { metric: 'send→receive max', value: ms((r) => r.pipeline.sendToReceive.max), unit: '', pass: null },
      {
        // A p99 is the 1 % slowest of these: 50 events of 5,000 a repetition.
        metric: 'events behind each repetition\'s p50 / p99: logstream / bare chain / uWS hop / XADD→XREADGROUP / INSERT…NOTIFY→LISTEN rounds',
        value: [(r: Repetition) => r.pipeline.sendToReceive.n, (r: Repetition) => r.chain.sendToReceive.n, (r: Repetition) => r.hops.uws.n, (r: Repetition) => r.hops.redis.n, (r: Repetition) => r.hops.postgres.n]
          .map((f) => fmtSpread(spread(col(f))))
          .join(' / '),
        unit: '',
        pass: null,
      },
      { metric: 'events lost / duplicated on /live', value: `${lost} / ${dup}`, unit: '', target: '0 / 0', pass: lost === 0 && dup === 0 },
      { metric: 'GET /send answered, p50 / p99', value: `${ms((r) => r.pipeline.accept.p50)} / ${ms((r) => r.pipeline.accept.p99)}`, unit: '', pass: null },
      { metric: 'server side (medians): GET /send handled, p50 / p99', value: `${bound((r) => r.server.producerRequest.p50)} / ${bound((r) => r.server.producerRequest.p99)}`, unit: '', pass: null },
      { metric: 'server side (medians): producer receipt → gateway push, p50 / p99', value: `${bound((r) => r.server.receiptToPush.p50)} / ${bound((r) => r.server.receiptToPush.p99)}`, unit: '', pass: null },
      { metric: 'server side (medians): NOTIFY arrival → gateway push, p50 / p99', value: `${bound((r) => r.server.notifyToPush.p50)} / ${bound((r) => r.server.notifyToPush.p99)}`, unit: '', pass: null },
      { metric: '1,000-event POST visible in /logs, p50 / max', value: `${ms((r) => r.pipeline.batchVisible.p50)} / ${ms((r) => r.pipeline.batchVisible.max)}`, unit: '', pass: null },
    ];
    return { repetitions: reps.length, ratios, rows, figures: { rate: RATE, seconds, sliceSeconds, hopSeconds, repetitions: reps } };
  } finally {
    for (const c of [bare, ...chain]) c.send({ type: 'stop' });
    const ends = await Promise.all([bare, ...chain].map((c) => c.result.catch(() => undefined)));
    const stages = Object.assign({}, ...ends.slice(1).map((e) => (e as { stages?: object } | undefined)?.stages ?? {})) as Record<string, { p50: number | null; p99: number | null }>;
    ctx.log(`  bare chain, ms after the front's receipt (all runs): ${Object.entries(stages).map(([k, v]) => `${k} p50 ${v.p50} / p99 ${v.p99}`).join(', ')}`);
    await stack.stop();
  }
};
