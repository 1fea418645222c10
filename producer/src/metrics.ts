import { createRegistry, prom, requestDurationHistogram } from '../../shared/src/metrics.js';

export function producerMetrics() {
  const registry = createRegistry('producer');
  return {
    registry,
    accepted: new prom.Counter({ name: 'logstream_events_accepted_total', help: 'Events accepted and written to the stream', labelNames: ['transport'], registers: [registry] }),
    rejected: new prom.Counter({ name: 'logstream_events_rejected_total', help: 'Requests or frames rejected, by reason', labelNames: ['reason'], registers: [registry] }),
    requestDuration: requestDurationHistogram(registry),
    wsConnections: new prom.Gauge({ name: 'logstream_publish_connections', help: 'Open /publish WebSocket connections', registers: [registry] }),
    backlog: new prom.Gauge({ name: 'logstream_stream_backlog', help: 'Sampled unprocessed entries (group lag + pending)', registers: [registry] }),
  };
}

export type ProducerMetrics = ReturnType<typeof producerMetrics>;
