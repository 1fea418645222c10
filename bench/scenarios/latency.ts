// latency: 1,000 events/s as single events (GET /send), one /live subscriber; send→receive in one process.
// Targets: p50 ≤ 10 ms, p99 ≤ 50 ms (issue 3); a 1,000-event batch visible in /logs within 250 ms (issue 2).
import type { Scenario } from '../lib/context.js';
import { startLoad } from '../lib/load.js';
import { bucketQuantile, bucketsBetween, formatBound, histogramBuckets } from '../lib/prom.js';
import { startStack } from '../lib/stack.js';

const PUSH = 'logstream_store_push_latency_seconds';
const REQ = 'logstream_http_request_duration_seconds';

type Summary = { n: number; p50: number; p95: number; p99: number; max: number };

export const latency: Scenario = async (ctx) => {
  const stack = await startStack('latency', { producer: true, gateway: true, processors: 2, profileDir: ctx.profileDir });
  try {
    const seconds = ctx.quick ? 4 : 15;
    const load = startLoad<{ sent: number; rate: number; received: number; lost: number; duplicates: number; sendErrors: number; lastError: string; sendToReceive: Summary; accept: Summary; batchVisible: Summary }>(
      'load-latency.ts',
      { producerUrl: stack.producer!.url, gatewayUrl: stack.gateway!.url, rate: 1000, seconds, warmupSeconds: ctx.quick ? 1 : 2, visibleBatches: ctx.quick ? 3 : 10 },
      (t) => ctx.log(`  ${t}`),
    );
    // Server-side view of the same events, from the services' own histograms: producer request time of GET /send,
    // and producer receipt → gateway push. Where these are small and send→receive is not, the load generator (or the
    // machine's CPU queue) is the delay.
    const gw = stack.gateway!.url;
    const pr = stack.producer!.url;
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
    const r = await load.result;
    if (r.sendErrors > 0) ctx.log(`  ${r.sendErrors} failed sends; last: ${r.lastError}`);
    const s = r.sendToReceive;
    return {
      repetitions: 1,
      ratios: [],
      figures: { ...r, seconds, server },
      rows: [
        { metric: `send→receive p50 (${Math.round(r.rate)} events/s)`, value: s.p50, unit: 'ms', target: '≤ 10 ms', pass: s.p50 !== null && s.p50 <= 10 },
        { metric: 'send→receive p99', value: s.p99, unit: 'ms', target: '≤ 50 ms', pass: s.p99 !== null && s.p99 <= 50 },
        { metric: 'send→receive max', value: s.max, unit: 'ms', pass: null },
        { metric: 'events lost / duplicated on /live', value: `${r.lost} / ${r.duplicates}`, unit: '', target: '0 / 0', pass: r.lost === 0 && r.duplicates === 0 },
        { metric: 'GET /send answered, p50 / p99', value: `${r.accept.p50} / ${r.accept.p99} ms`, unit: '', pass: null },
        {
          metric: 'server side: GET /send handled, p50 / p99',
          value: `${formatBound(server.producerRequest.p50)} / ${formatBound(server.producerRequest.p99)}`,
          unit: '',
          pass: null,
        },
        {
          metric: 'server side: producer receipt → gateway push, p50 / p99',
          value: `${formatBound(server.receiptToPush.p50)} / ${formatBound(server.receiptToPush.p99)}`,
          unit: '',
          pass: null,
        },
        { metric: '1,000-event POST visible in /logs, p50 / max', value: `${r.batchVisible.p50} / ${r.batchVisible.max} ms`, unit: '', target: '≤ 250 ms', pass: r.batchVisible.max !== null && r.batchVisible.max <= 250 },
      ],
    };
  } finally {
    await stack.stop();
  }
};
