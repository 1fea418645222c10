// Request bodies of the shipper protocols: Content-Encoding (gzip, deflate) undone with the same size limit as the
// body itself, so a small compressed bomb cannot expand past MAX_BODY_BYTES.
import { gunzipSync, inflateSync } from 'node:zlib';
import { badRequest, HttpError, tooLarge } from '@logstream/shared/errors.js';
import { idempotentEventIds } from './event-ids.js';

export function decodeContentEncoding(body: Buffer, contentEncoding: string, limit: number): Buffer {
  const encoding = contentEncoding.trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return body;
  const inflate = encoding === 'gzip' || encoding === 'x-gzip' ? gunzipSync : encoding === 'deflate' ? inflateSync : undefined;
  if (!inflate) throw new HttpError(415, 'unsupported_media_type', `Content-Encoding ${JSON.stringify(encoding)} is not supported; use gzip, deflate or none`);
  try {
    return inflate(body, { maxOutputLength: limit });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit);
    throw badRequest(`body is not valid ${encoding} data: ${(err as Error).message.slice(0, 100)}`);
  }
}

/** The media type of a Content-Type header, lower case, without parameters. */
export const mediaType = (contentType: string) => contentType.split(';')[0]!.trim().toLowerCase();

/**
 * Event ids of a shipper request, derived from its body (event-ids.ts): these clients resend the same body after a
 * timeout or a 503 whose outcome is unknown, and storage keeps one row per event id, so a resent body is stored
 * once. Each protocol has its own namespace; a body is only ever the same twice when it is a resend (every record
 * carries its own timestamp).
 */
export const bodyEventIds = (protocol: string, token: string | undefined, body: Uint8Array) => (count: number) => idempotentEventIds(token, `shipper:${protocol}`, body, count);
