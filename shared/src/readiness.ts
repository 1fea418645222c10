// GET /health and GET /ready (CONTRACT §8), once for every service (issue 13 point 5): /ready asks each dependency's
// probe (a connection object's ready(), the LISTEN connection's state) together, and answers 200 when all are up,
// else 503 with Retry-After: 2, with one boolean per dependency and the service's own detail in the body.
import { route } from './http-routes.js';
import type { Logger } from './logger.js';
import { sendJson, type TemplatedApp } from './uws.js';

/** Up or not, answered within PROBE_TIMEOUT_MS (the connection objects' ready() keep to it). */
export type Probe = () => boolean | Promise<boolean>;

export function mountProbes(app: TemplatedApp, log: Logger, probes: Record<string, Probe>, detail: () => Record<string, unknown> = () => ({})): void {
  const names = Object.keys(probes);
  app.get('/health', route(log, (res, _req, state) => sendJson(res, state, 200, { status: 'ok' })));
  app.get('/ready', route(log, async (res, _req, state) => {
    const up = await Promise.all(names.map((name) => probes[name]!()));
    const ready = up.every(Boolean);
    const body: Record<string, unknown> = { ready };
    names.forEach((name, i) => (body[name] = up[i]));
    sendJson(res, state, ready ? 200 : 503, { ...body, ...detail() }, ready ? {} : { 'Retry-After': '2' });
  }));
}
