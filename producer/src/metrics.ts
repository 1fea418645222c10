import { createRegistry, prom, requestDurationHistogram } from '@logstream/shared/metrics.js';
import type { BatchWriter } from './batch-writer.js';

export function producerMetrics(writer: BatchWriter) {
  const registry = createRegistry('producer');
  return {
    registry,
    accepted: new prom.Counter({ name: 'logstream_events_accepted_total', help: 'Events accepted and written to the stream', labelNames: ['transport'], registers: [registry] }),
    rejected: new prom.Counter({ name: 'logstream_events_rejected_total', help: 'Requests or frames rejected, by reason', labelNames: ['reason'], registers: [registry] }),
    requestDuration: requestDurationHistogram(registry),
    wsConnections: new prom.Gauge({ name: 'logstream_publish_connections', help: 'Open /publish WebSocket connections', registers: [registry] }),
    backlog: new prom.Gauge({ name: 'logstream_stream_backlog', help: 'Sampled unprocessed entries (group lag + pending)', registers: [registry] }),
    inFlightBytes: new prom.Gauge({
      name: 'logstream_redis_inflight_bytes',
      help: 'Serialized event bytes sent to Redis and not yet answered (capped by MAX_INFLIGHT_BYTES)',
      registers: [registry],
      collect() {
        this.set(writer.inFlight().bytes);
      },
    }),
  };
}

export type ProducerMetrics = ReturnType<typeof producerMetrics>;
