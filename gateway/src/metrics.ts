import { createRegistry, prom, requestDurationHistogram } from '@logstream/shared/metrics.js';

export function gatewayMetrics() {
  const registry = createRegistry('gateway');
  return {
    registry,
    requestDuration: requestDurationHistogram(registry),
    connections: new prom.Gauge({ name: 'logstream_live_connections', help: 'Open /live WebSocket connections', registers: [registry] }),
    frames: new prom.Counter({ name: 'logstream_live_frames_total', help: 'logs frames published (one per filter group and burst)', registers: [registry] }),
    rowsSent: new prom.Counter({ name: 'logstream_live_rows_sent_total', help: 'Rows pushed to subscribers (rows x subscribers)', registers: [registry] }),
    rowsDropped: new prom.Counter({ name: 'logstream_live_rows_dropped_total', help: 'Rows skipped for slow clients (reported to them as dropped ranges)', registers: [registry] }),
    listenReconnects: new prom.Counter({ name: 'logstream_listen_reconnects_total', help: 'Times the LISTEN connection was re-established', registers: [registry] }),
    // Per notification burst: from the NOTIFY that a commit sent (it arrives at commit) to the rows' frames being
    // published. The gateway's own share of the path, which a slow fetch query or a busy event loop shows up in.
    storePushLatency: new prom.Histogram({
      name: 'logstream_store_push_latency_seconds',
      help: 'From the NOTIFY of a stored batch arriving to its rows being pushed to /live subscribers',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    // Per row: the whole pipeline, producer receipt (received_at) → stream → processor → PostgreSQL → push.
    ingestPushLatency: new prom.Histogram({
      name: 'logstream_ingest_push_latency_seconds',
      help: 'From the producer receiving an event to the gateway pushing it',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    // Per fetch: from publishing its frames to the event loop being free again. uWS queues topic messages and writes
    // them to every subscriber's socket as the loop comes round, so this is the cost of the fan-out; it grows with
    // the audience and sets how far apart frames can be (live/feed.ts, coalesceMs).
    publishDuration: new prom.Histogram({
      name: 'logstream_live_publish_seconds',
      help: 'From publishing one fetch of new rows to /live subscribers until the event loop is free (the socket writes)',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1],
      registers: [registry],
    }),
    // Searches (/logs?q=, /stats from rows, /fields, the Loki queries) refused by the search gate (read-gate.ts).
    readsRefused: zeroed(
      new prom.Counter({
        name: 'logstream_reads_refused_total',
        help: 'Expensive reads refused busy (503, Loki 429): the wait queue was full, or the read waited its longest',
        labelNames: ['reason'],
        registers: [registry],
      }),
      'reason',
      ['queue_full', 'wait_timeout'],
    ),
    head: new prom.Gauge({ name: 'logstream_live_head_id', help: 'Highest row id the gateway has fetched', registers: [registry] }),
  };
}

/** Every label value at 0 from the start, so that `increase()` sees the first refusal. */
function zeroed<T extends string>(counter: prom.Counter<T>, label: T, values: string[]): prom.Counter<T> {
  for (const v of values) counter.inc({ [label]: v } as Partial<Record<T, string>>, 0);
  return counter;
}

export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;
