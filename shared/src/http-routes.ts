// Route wrapper for uWS handlers: every error becomes a JSON answer (CONTRACT §7), never a crash or a hang.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Histogram } from 'prom-client';
import { HttpError, isConnectionError, unavailable } from './errors.js';
import { hasSqlState } from './sqlstate.js';
import type { Logger } from './logger.js';
import { sendError, trackAbort, type ResState } from './uws.js';

export type Handler = (res: HttpResponse, req: HttpRequest, state: ResState) => void | Promise<void>;

/**
 * Request headers above this many bytes (names and values) are answered 431 (issue 11 point 9): uWS 20.30 takes a
 * single 100 KB header as it is. 16 KiB is well above what browsers and shippers send (a few hundred bytes to
 * ~8 KB of cookies) and below what it takes to make every request carry megabytes. uWS 20.30 parses at most 48
 * header lines and calls no handler for a request with more, so it cannot be answered from here (README, Bad input;
 * test/small-holes.test.ts).
 */
export const MAX_HEADER_BYTES = 16 * 1024;

function headerBytes(req: HttpRequest): number {
  let n = 0;
  req.forEach((k, v) => {
    n += k.length + v.length + 4;
  });
  return n;
}

export function route(log: Logger, handler: Handler): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const state = trackAbort(res, req);
    const size = headerBytes(req);
    if (size > MAX_HEADER_BYTES) {
      sendError(res, state, new HttpError(431, 'headers_too_large', `the request headers are ${size} bytes, over the limit of ${MAX_HEADER_BYTES}: send fewer or shorter headers`), true);
      return;
    }
    const fail = (err: unknown) => {
      if (state.aborted || state.done) return;
      if (err instanceof HttpError) {
        // After a 413 the rest of the body is not read: close the connection instead of draining it.
        sendError(res, state, err, err.status === 413);
      } else if (hasSqlState(err, 'queryCanceled')) {
        // A statement timeout (gateway/src/read-pools.ts): the read was too expensive, not the database down.
        sendError(res, state, new HttpError(503, 'query_timeout', 'the query took longer than its statement timeout: narrow it (service, level, since/until)', undefined, { 'Retry-After': '5' }));
      } else if (isConnectionError(err)) {
        sendError(res, state, unavailable('a dependency (Redis or PostgreSQL) is unavailable; retry shortly', 2));
      } else {
        log.error({ err }, 'request failed');
        sendError(res, state, new HttpError(500, 'internal', 'internal error'));
      }
    };
    try {
      const out = handler(res, req, state);
      if (out instanceof Promise) out.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}

/** `route` that also records the request's duration and status, and reports rejections to `onReject`. */
export function timedRoute(
  log: Logger,
  histogram: Histogram<'route' | 'status'>,
  name: string,
  handler: Handler,
  onReject: (err: unknown) => void = () => {},
): (res: HttpResponse, req: HttpRequest) => void {
  return route(log, async (res, req, state) => {
    const end = histogram.startTimer({ route: name });
    try {
      await handler(res, req, state);
      end({ status: String(state.status ?? 200) });
    } catch (err) {
      onReject(err);
      end({ status: err instanceof HttpError ? String(err.status) : '500' });
      throw err;
    }
  });
}
