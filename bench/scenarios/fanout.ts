// fanout: 10,000 /live subscribers on one gateway, 100 events/s. Targets (issue 3): p99 ≤ 250 ms from store to
// client with 0 dropped for clients that keep up; gateway memory per idle connection.
// The latency measured is send→receive (the send time travels in the message), which includes the producer,
// Redis and the processor: an upper bound of store→receive.
import type { Scenario } from '../lib/context.js';
import type { FanoutResult } from '../load-fanout.js';
import { startLoad } from '../lib/load.js';
import { buildNative } from '../lib/native.js';
import { procSample } from '../lib/proc.js';
import { bucketQuantile, bucketsBetween, formatBound, histogramBuckets } from '../lib/prom.js';
import { round } from '../lib/results.js';
import { startStack } from '../lib/stack.js';

const PUSH = 'logstream_store_push_latency_seconds';
const PUBLISH = 'logstream_live_publish_seconds';

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const fanout: Scenario = async (ctx) => {
  // Knobs for exploring (not needed for the standard run): BENCH_FANOUT_SUBSCRIBERS, _SECONDS, _BATCH (events per POST),
  // _CLIENT (native: the C clients of bench/native/ws-subscribers.c, the default; ws: Node `ws` clients, which take
  // most of a core to read 50,000 frames/s on the cores the gateway needs), _PROCESSES (subscriber processes).
  const client = process.env.BENCH_FANOUT_CLIENT ?? 'native';
  if (client !== 'native' && client !== 'ws') throw new Error(`BENCH_FANOUT_CLIENT must be native or ws, got ${client}`);
  const binary = client === 'native' ? buildNative('ws-subscribers') : undefined;
  const processes = Number(process.env.BENCH_FANOUT_PROCESSES ?? (client === 'native' ? 1 : 2));
  const subscribers = Number(process.env.BENCH_FANOUT_SUBSCRIBERS ?? (ctx.quick ? 1000 : 10_000));
  const seconds = Number(process.env.BENCH_FANOUT_SECONDS ?? (ctx.quick ? 3 : 20));
  const batch = Number(process.env.BENCH_FANOUT_BATCH ?? 1);
  const stack = await startStack('fanout', { producer: true, gateway: true, processors: 2, profileDir: ctx.profileDir });
  try {
    const gwPid = stack.gateway!.proc.pid!;
    // A few requests first, so that the baseline includes a warmed-up gateway (JIT, pools, the page bundle).
    for (let i = 0; i < 5; i++) await fetch(`${stack.gateway!.url}/logs?limit=1`).then((r) => r.text());
    await settle(1000);
    const before = procSample(gwPid)!;
    const load = startLoad<FanoutResult>(
      'load-fanout.ts',
      { gatewayUrl: stack.gateway!.url, producerUrl: stack.producer!.url, subscribers, processes, rate: 100, seconds, sampleEvery: 20, batch, binary },
      (t) => ctx.log(`  ${t}`),
    );
    const connected = (await load.next('connected')) as unknown as { clients: number; connectSeconds: number };
    await settle(2000);
    const idle = procSample(gwPid)!;
    const perConnKb = ((idle.rssMb - before.rssMb) * 1024) / connected.clients;
    ctx.log(`  gateway RSS ${round(before.rssMb)} MB → ${round(idle.rssMb)} MB with ${connected.clients} idle subscribers (${round(perConnKb)} KB each)`);
    const push0 = await histogramBuckets(stack.gateway!.url, PUSH);
    const publish0 = await histogramBuckets(stack.gateway!.url, PUBLISH);
    const goAt = Date.now();
    load.send({ type: 'go' });
    const r = await load.result;
    // The gateway's own view: producer receipt → app.publish. What send→receive adds on top is delivery: uWS
    // writing 10,000 sockets, the loopback, and the subscriber processes reading.
    const push = bucketsBetween(push0, await histogramBuckets(stack.gateway!.url, PUSH));
    const server = { p50: bucketQuantile(push, 0.5), p99: bucketQuantile(push, 0.99) };
    // One publish: uWS writing a frame to every subscriber's socket (timed to the next turn of the event loop).
    const publishes = bucketsBetween(publish0, await histogramBuckets(stack.gateway!.url, PUBLISH));
    const publish = { p50: bucketQuantile(publishes, 0.5), p99: bucketQuantile(publishes, 0.99) };
    const after = procSample(gwPid)!;
    const elapsed = (Date.now() - goAt) / 1000;
    if (r.sendErrors > 0) ctx.log(`  ${r.sendErrors} failed sends; last: ${r.lastError}`);
    const s = r.sendToReceive;
    const gatewayCpu = after.cpuSec - idle.cpuSec;
    return {
      repetitions: 1,
      ratios: [],
      figures: { ...r, subscribers, seconds, batch, client, subscriberProcesses: processes, gatewayRssMb: { before: before.rssMb, idle: idle.rssMb, after: after.rssMb }, gatewayKbPerIdleConnection: perConnKb, gatewayCpuSec: gatewayCpu, serverPush: server, publish },
      rows: [
        { metric: `subscribers connected (in ${round(r.connectSeconds)} s)`, value: r.clients, unit: '', target: `${subscribers}`, pass: r.clients === subscribers },
        { metric: `send→receive p50 (${r.sampledClients === r.clients ? 'every client' : `${r.sampledClients} sampled clients`}, ${client} clients)`, value: s.p50, unit: 'ms', pass: null },
        { metric: `rows per frame (${batch === 1 ? 'single events' : `POSTs of ${batch}`})`, value: round(r.rowsPerFrame, 2), unit: '', pass: null },
        { metric: 'send→receive p99 (≥ store→receive)', value: s.p99, unit: 'ms', target: '≤ 250 ms', pass: s.p99 !== null && s.p99 <= 250 },
        { metric: 'server side: producer receipt → gateway publish, p50 / p99', value: `${formatBound(server.p50)} / ${formatBound(server.p99)}`, unit: '', pass: null },
        { metric: `one publish to ${r.clients} sockets, p50 / p99`, value: `${formatBound(publish.p50)} / ${formatBound(publish.p99)}`, unit: '', pass: null },
        { metric: `clients with every row, none dropped (${r.sent} rows)`, value: r.complete, unit: '', target: `${r.clients}`, pass: r.complete === r.clients },
        { metric: 'rows dropped (clients that fell behind)', value: `${r.droppedRows} (${r.droppedClients})`, unit: '', target: '0', pass: r.droppedRows === 0 },
        { metric: 'gateway memory per idle connection', value: round(perConnKb, 1), unit: 'KB', pass: null },
        { metric: 'CPU while sending: gateway / subscriber processes', value: `${round((gatewayCpu / elapsed) * 100, 0)}% / ${round((r.subscriberCpuSec / elapsed) * 100, 0)}% of a core`, unit: '', pass: null },
      ],
    };
  } finally {
    await stack.stop();
  }
};
