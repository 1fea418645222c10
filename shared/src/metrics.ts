// Prometheus metrics with prom-client: one registry per process, default process metrics included.
import client from 'prom-client';

export { client as prom };

export function createRegistry(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return registry;
}
