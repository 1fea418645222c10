import { createRegistry, prom } from '../../shared/src/metrics.js';

export function producerMetrics() {
  const registry = createRegistry('producer');
  return {
    registry,
    accepted: new prom.Counter({ name: 'logstream_events_accepted_total', help: 'Events accepted and written to the stream', labelNames: ['transport'], registers: [registry] }),
    rejected: new prom.Counter({ name: 'logstream_events_rejected_total', help: 'Requests or frames rejected, by reason', labelNames: ['reason'], registers: [registry] }),
    requestDuration: new prom.Histogram({
      name: 'logstream_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    wsConnections: new prom.Gauge({ name: 'logstream_publish_connections', help: 'Open /publish WebSocket connections', registers: [registry] }),
    backlog: new prom.Gauge({ name: 'logstream_stream_backlog', help: 'Sampled unprocessed entries (group lag + pending)', registers: [registry] }),
  };
}

export type ProducerMetrics = ReturnType<typeof producerMetrics>;
