// The few named errors of the HTTP surface; each maps to a status and a code of CONTRACT §7.
import type { Issue } from './event.js';
import { isConnectionSqlState, sqlState } from './sqlstate.js';

/**
 * Every `error` code an answer or a frame carries (CONTRACT §7 and §6's error frames), in one union so that a new
 * one is added here, where a client author looks for them.
 */
export type ErrorCode =
  // 400
  | 'bad_request'
  | 'invalid_event'
  | 'invalid_utf8'
  | 'too_many_events'
  | 'aborted'
  | 'bad_logql'
  | 'unsupported_logql'
  // 401, 404, 405
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  // 413, 415, 431
  | 'payload_too_large'
  | 'event_too_large'
  | 'batch_over_rate_limit'
  | 'unsupported_media_type'
  | 'headers_too_large'
  // 429
  | 'rate_limited'
  | 'too_many_in_flight'
  // 500, never for bad input
  | 'internal'
  // 503, with Retry-After
  | 'unavailable'
  | 'busy'
  | 'query_timeout'
  | 'outcome_unknown'
  | 'not_reading_acks'
  | 'over_capacity'
  // error frames of /live (the connection stays open)
  | 'bad_frame'
  | 'bad_filter'
  | 'cursor_ahead';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: Issue[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  toJSON(): Record<string, unknown> {
    return this.details ? { error: this.code, message: this.message, details: this.details } : { error: this.code, message: this.message };
  }
}

export const badRequest = (message: string, details?: Issue[]) => new HttpError(400, 'bad_request', message, details);
export const invalidEvent = (details: Issue[]) =>
  new HttpError(400, 'invalid_event', `${details.length === 1 ? 'an event is' : 'events are'} invalid; nothing was stored: ${details[0]?.path ? details[0].path + ': ' : ''}${details[0]?.message ?? ''}`, details);
export const unauthorized = () => new HttpError(401, 'unauthorized', 'send "Authorization: Bearer <token>" with a valid token', undefined, { 'WWW-Authenticate': 'Bearer' });
export const notFound = (message = 'no such path') => new HttpError(404, 'not_found', message);
export const tooLarge = (limit: number) => new HttpError(413, 'payload_too_large', `request body is over the limit of ${limit} bytes; send smaller batches`);
export const eventTooLarge = (index: number, bytes: number, limit: number) =>
  new HttpError(413, 'event_too_large', `event ${index} is ${bytes} bytes serialized, over the limit of ${limit} bytes per event; split it or shorten its message and attributes; nothing was stored`, [
    { index, path: '', message: `event is ${bytes} bytes, over ${limit}` },
  ]);
export const unsupportedType = (type: string) =>
  new HttpError(415, 'unsupported_media_type', `content type ${JSON.stringify(type)} is not supported; use application/json or application/x-ndjson`);
export const unavailable = (message: string, retryAfterS = 1) =>
  new HttpError(503, 'unavailable', message, undefined, { 'Retry-After': String(retryAfterS) });
export const tooManyRequests = (what: string, retryAfterS: number) =>
  new HttpError(429, 'rate_limited', `${what} exceeded; retry after ${retryAfterS} s`, undefined, { 'Retry-After': String(retryAfterS) });

/** Node's socket errnos of a lost or refused connection; PostgreSQL's own are in sqlstate.ts. */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** Connection-level failures are retried quietly; everything else is reported. */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  if (code && CONNECTION_ERRNOS.has(code)) return true;
  if (isConnectionSqlState(sqlState(err))) return true;
  return /Connection is closed|Stream isn't writeable|connect ECONNREFUSED|Connection terminated|Command timed out|timeout exceeded when trying to connect|Client has encountered a connection error|MaxRetriesPerRequest/i.test(err.message);
}
