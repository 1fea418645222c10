// uWebSockets.js glue shared by the producer and the gateway: loading the native build, reading bodies with a
// limit, answering JSON. uWS-specific code stays in this file and the services' http modules (socket.io's rule).
import { createRequire } from 'node:module';
import type * as UWS from 'uWebSockets.js';
import { HttpError, tooLarge } from './errors.js';

export type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, WebSocketBehavior, us_listen_socket } from 'uWebSockets.js';

/**
 * Load uWebSockets.js and refuse to run on its fallback. The unofficial build silently falls back to a slow
 * `ws`-based shim when its native binary does not load (wrong Node ABI or glibc); that shim lacks SSLApp.
 */
export function loadUws(): typeof UWS {
  const require = createRequire(import.meta.url);
  const originalWarn = console.warn;
  const warnings: string[] = [];
  console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
  let uws: typeof UWS;
  try {
    uws = require('uWebSockets.js');
  } finally {
    console.warn = originalWarn;
  }
  if (typeof (uws as { SSLApp?: unknown }).SSLApp !== 'function') {
    const why = process.env.UWS_USE_FALLBACK
      ? 'UWS_USE_FALLBACK is set, which selects the slow fallback'
      : `the native uWebSockets.js binary did not load for Node ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch})`;
    throw new Error(`${why}; refusing to run on the slow fallback. ${warnings.join(' ').trim()}`.trim());
  }
  return uws;
}

/** Start-up check of every HTTP service: one clear line and exit 1 when only the fallback is available. */
export function requireNativeUws(service: string): void {
  try {
    loadUws();
  } catch (err) {
    console.error(`${service}: ${(err as Error).message}`);
    process.exit(1);
  }
}

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK', 202: '202 Accepted', 204: '204 No Content', 304: '304 Not Modified', 400: '400 Bad Request',
  401: '401 Unauthorized', 404: '404 Not Found', 405: '405 Method Not Allowed', 413: '413 Payload Too Large',
  415: '415 Unsupported Media Type', 429: '429 Too Many Requests', 431: '431 Request Header Fields Too Large', 500: '500 Internal Server Error', 503: '503 Service Unavailable',
};

export function statusLine(status: number): string {
  return STATUS_TEXT[status] ?? String(status);
}

/** Per-request state: uWS forbids touching `res` after the client went away. */
export interface ResState {
  aborted: boolean;
  done: boolean;
  /** The status answered, once answered. */
  status?: number;
  /** A HEAD request: answered with the headers a GET would get, and no body. */
  head?: boolean;
}

export function trackAbort(res: UWS.HttpResponse, req?: UWS.HttpRequest): ResState {
  const state: ResState = { aborted: false, done: false, head: req?.getMethod() === 'head' };
  res.onAborted(() => {
    state.aborted = true;
  });
  return state;
}

/** Answers whose connection is closed once they are sent, whatever the handler asked (http-cap.ts). */
const closeAfter = new WeakSet<UWS.HttpResponse>();

/** Close this request's connection after its answer: an answer sent through sendRaw says `Connection: close`. */
export function closeAfterAnswer(res: UWS.HttpResponse): void {
  closeAfter.add(res);
}

export function sendRaw(
  res: UWS.HttpResponse,
  state: ResState,
  status: number,
  body: string | Uint8Array,
  contentType = 'application/json',
  headers: Record<string, string> = {},
  closeConnection = false,
): void {
  if (state.aborted || state.done) return;
  state.done = true;
  state.status = status;
  if (closeAfter.has(res)) closeConnection = true;
  res.cork(() => {
    res.writeStatus(statusLine(status)).writeHeader('Content-Type', contentType).writeHeader('Access-Control-Allow-Origin', '*');
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    if (state.head) res.endWithoutBody(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength, closeConnection);
    else res.end(body, closeConnection);
  });
}

/**
 * Answer HEAD wherever GET is answered (RFC 9110 §9.3.2), by the same handler: uWS routes HEAD only to `head`
 * handlers, so a HEAD fell through to the catch-all 404/405 (issue 11 point 9). The handler's answer goes out
 * through sendRaw, which sends the headers and the Content-Length of the body without the body.
 */
export function headLikeGet(app: UWS.TemplatedApp): UWS.TemplatedApp {
  const get = app.get.bind(app);
  const head = app.head.bind(app);
  const explicit = new Set<unknown>();
  const implied = new Map<Parameters<UWS.TemplatedApp["get"]>[0], Parameters<UWS.TemplatedApp["get"]>[1]>();
  app.head = (pattern, handler) => {
    explicit.add(pattern);
    head(pattern, handler);
    return app;
  };
  app.get = (pattern, handler) => {
    get(pattern, handler);
    // Registered once the routes are set up (they are, synchronously, at start-up), so that a route's own HEAD
    // handler (Elasticsearch's HEAD /) wins: uWS refuses a second handler for the same method and pattern.
    if (implied.size === 0) queueMicrotask(() => {
      for (const [p, h] of implied) if (!explicit.has(p)) head(p, h);
      implied.clear();
    });
    implied.set(pattern, handler);
    return app;
  };
  return app;
}

export function sendJson(res: UWS.HttpResponse, state: ResState, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendRaw(res, state, status, typeof body === 'string' ? body : JSON.stringify(body), 'application/json', headers);
}

export function sendError(res: UWS.HttpResponse, state: ResState, err: HttpError, closeConnection = false): void {
  sendRaw(res, state, err.status, JSON.stringify(err), 'application/json', err.headers, closeConnection);
}

/**
 * Read the request body, cut off at `limit` bytes: a body over the limit is answered 413 as soon as the limit is
 * passed, never buffered whole. Resolves with the body, or rejects with an HttpError.
 */
export function readBody(res: UWS.HttpResponse, state: ResState, limit: number, declaredLength?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (declaredLength !== undefined && declaredLength > limit) {
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    res.onData((chunk, isLast) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk).slice()));
      if (isLast) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    res.onAborted(() => {
      state.aborted = true;
      failed = true;
      reject(new HttpError(400, 'aborted', 'request aborted'));
    });
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode UTF-8, rejecting invalid byte sequences with a 400 rather than storing replacement characters. */
export function decodeUtf8(bytes: Uint8Array, what = 'body'): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new HttpError(400, 'invalid_utf8', `${what} is not valid UTF-8`);
  }
}

/**
 * CORS preflight: browsers may send logs from any page and read the API from any origin. Access is controlled by
 * bearer tokens (INGEST_TOKENS / READ_TOKENS), not by origin, so every origin is allowed.
 */
export function answerPreflight(res: UWS.HttpResponse): void {
  res.cork(() => {
    res
      .writeStatus('204 No Content')
      .writeHeader('Access-Control-Allow-Origin', '*')
      .writeHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS')
      .writeHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Idempotency-Key')
      .writeHeader('Access-Control-Max-Age', '86400')
      .endWithoutBody();
  });
}

const badQuery = () => new HttpError(400, 'invalid_utf8', 'the query string is not valid UTF-8: percent-encode UTF-8 bytes (%C3%A9 for é)');

/** decodeURIComponent that keeps a stray `%` literal (as URLSearchParams does) but rejects invalid UTF-8. */
function decodeComponent(s: string): string {
  if (!s.includes('%') && !s.includes('+')) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' ').replace(/%(?![0-9A-Fa-f]{2})/g, '%25'));
  } catch {
    throw badQuery();
  }
}

/**
 * Parse a query string into a map; repeated keys keep the last value. Invalid UTF-8 (`%FF`, or raw bytes, which uWS
 * hands over as U+FFFD) is a 400 rather than replacement characters stored or searched for (issue 4; URLSearchParams
 * silently turned `message=%FF` into "\uFFFD").
 */
export function parseQuery(query: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!query) return out;
  if (query.includes('\uFFFD')) throw badQuery();
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    out.set(decodeComponent(eq >= 0 ? part.slice(0, eq) : part), eq >= 0 ? decodeComponent(part.slice(eq + 1)) : '');
  }
  return out;
}
