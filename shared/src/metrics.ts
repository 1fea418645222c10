// Prometheus metrics with prom-client: one registry per process, default process metrics included.
import client from 'prom-client';

export { client as prom };

export function createRegistry(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return registry;
}

/** HTTP request duration by route and status: the same histogram on every service. */
export function requestDurationHistogram(registry: client.Registry): client.Histogram<'route' | 'status'> {
  return new client.Histogram({
    name: 'logstream_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
}
