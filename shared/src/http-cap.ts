// HTTP requests under the connection cap (issue 11 point 5): ~20,000 keep-alive clients, each asking every few
// seconds so that uWS's 10 s idle timeout never closed them, could still take every file descriptor, and then
// /health and /logs timed out for everyone. uWS 20.30 cannot tell one HTTP socket from another (no open/close hook,
// no remote port), so the cap counts descriptors (connection-cap.ts) and sheds sockets the only way it can: while
// the service holds more connections than MAX_CONNECTIONS, every HTTP answer closes its connection, and every
// request but the probes is answered 503 over_capacity without running. Whichever socket asks while the service is
// over the cap loses it, an old keep-alive one as well as a new one; open WebSockets are never closed by it.
import type { ConnectionCap } from './connection-cap.js';
import { HttpError } from './errors.js';
import { closeAfterAnswer, sendError, type HttpRequest, type HttpResponse, type TemplatedApp } from './uws.js';

/**
 * Answered even over the cap (with `Connection: close`): a 503 /health would have an orchestrator restart a service
 * that is only full, dropping every WebSocket it holds, and /metrics is where the refusals are counted. Each costs
 * one short request on a connection that is closed after it, so they cannot hold sockets either.
 */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', '/metrics']);

/** How long a refused client is asked to wait: sockets are freed as soon as their clients ask again. */
export const OVER_CAPACITY_RETRY_S = 1;

export const overCapacity = (max: number) =>
  new HttpError(503, 'over_capacity', `the service holds more connections than MAX_CONNECTIONS=${max}; retry later, on a new connection`, undefined, {
    'Retry-After': String(OVER_CAPACITY_RETRY_S),
  });

const METHODS = ['get', 'post', 'put', 'del', 'patch', 'options', 'head', 'connect', 'trace', 'any'] as const;
type Register = (pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void | Promise<void>) => TemplatedApp;

/** Put every HTTP route registered on `app` from now on under `cap` (WebSockets are admitted by the cap itself). */
export function capHttp(app: TemplatedApp, cap: ConnectionCap): TemplatedApp {
  for (const method of METHODS) {
    const register = (app[method] as Register).bind(app);
    (app[method] as Register) = (pattern, handler) => {
      const probe = PROBE_PATHS.has(pattern);
      return register(pattern, (res, req) => {
        if (cap.full()) {
          if (!probe) {
            cap.httpRefused++;
            sendError(res, { aborted: false, done: false, head: req.getMethod() === 'head' }, overCapacity(cap.max), true);
            return;
          }
          closeAfterAnswer(res);
        }
        return handler(res, req);
      });
    };
  }
  return app;
}
