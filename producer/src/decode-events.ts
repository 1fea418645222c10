// Turn a request body or a WebSocket frame into raw event values (before validation).
import { MAX_BATCH_EVENTS } from '@logstream/shared/event.js';
import { badRequest, HttpError, unsupportedType } from '@logstream/shared/errors.js';

const tooMany = (n: number) =>
  new HttpError(400, 'too_many_events', `${n} events in one request; send at most ${MAX_BATCH_EVENTS} per request`);

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`malformed JSON${where}: ${(err as Error).message.slice(0, 200)}`);
  }
}

export type BodyKind = 'json' | 'ndjson';

export function bodyKind(contentType: string): BodyKind {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === '' || type === 'application/json' || type === 'text/json') return 'json';
  if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl' || type === 'application/x-jsonlines') return 'ndjson';
  throw unsupportedType(type);
}

/** JSON: one event or an array of events. */
export function decodeJson(text: string): unknown[] {
  if (text.trim() === '') throw badRequest('empty body: send one event object or an array of events');
  const value = parseJson(text, '');
  if (Array.isArray(value)) {
    if (value.length === 0) throw badRequest('empty array: send at least one event');
    if (value.length > MAX_BATCH_EVENTS) throw tooMany(value.length);
    return value;
  }
  return [value];
}

/** NDJSON: one event per line; blank lines are skipped. */
export function decodeNdjson(text: string): unknown[] {
  const out: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (out.length >= MAX_BATCH_EVENTS) throw tooMany(lines.filter((l) => l.trim() !== '').length);
    out.push(parseJson(line, ` on line ${i + 1}`));
  }
  if (out.length === 0) throw badRequest('empty body: send one event per line');
  return out;
}

/** A /publish frame: an event, an array of events, or plain text (= {"message": text}). */
export function decodeFrame(text: string): unknown[] {
  const trimmed = text.trimStart();
  // Text that starts like JSON is JSON: a client that meant an event and got it wrong is told so rather than having
  // its broken JSON stored as a message (issue 12 point 8).
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return decodeJson(text);
    } catch (err) {
      if (err instanceof HttpError && err.message.startsWith('malformed JSON')) {
        throw badRequest(`${err.message}; a frame that starts with { or [ is read as JSON: to send such text as a message, send {"message":"…"}`);
      }
      throw err;
    }
  }
  if (text.length === 0) throw badRequest('empty frame: send an event, an array of events, or plain text');
  return [{ message: text }];
}
