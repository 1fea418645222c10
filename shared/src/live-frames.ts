// The /live server → client frames (CONTRACT §6): each one's type, its encoder (the gateway) and the decoder (the
// page). Kept apart from protocol.ts, which re-exports them, because protocol.ts builds its filter schemas with zod
// at load: the page importing its decoder from there took its bundle from 25 KB to 482 KB (esbuild, minified).
import type { LogItem } from './protocol.js';

/** Version in `hello`; a client can tell a server that speaks differently. */
export const PROTOCOL_VERSION = 1;

export interface HelloMessage {
  type: 'hello';
  head: number;
  version: number;
}
export interface LogsMessage {
  type: 'logs';
  items: LogItem[];
  cursor: number;
}
export interface DroppedMessage {
  type: 'dropped';
  count: number;
  from: number;
  to: number;
  /**
   * Absent: rows skipped because the client read too slowly (exact count of matching rows). 'retention': rows after
   * the client's `since` that retention dropped; count is the rows of the dropped partitions (any filter).
   */
  reason?: 'retention';
}
/**
 * Codes of /live error frames: a frame or filter the server cannot use (the connection stays open), a `since` ahead
 * of every row (the subscription continues live from the head), the database gone (the server closes with 1011).
 */
export type LiveErrorCode = 'bad_frame' | 'bad_filter' | 'cursor_ahead' | 'unavailable';
export interface ErrorMessage {
  type: 'error';
  /** A LiveErrorCode from this server; a string, so that a page reads codes a newer server adds. */
  error: string;
  message: string;
}
export type ServerMessage = HelloMessage | LogsMessage | DroppedMessage | ErrorMessage;

export function helloFrame(head: number): string {
  return JSON.stringify({ type: 'hello', head, version: PROTOCOL_VERSION } satisfies HelloMessage);
}

/**
 * Build a `logs` frame from rows already serialized once each: the frame is string concatenation,
 * never a second JSON.stringify of the rows.
 */
export function logsFrame(rowJson: readonly string[], cursor: number): string {
  return `{"type":"logs","items":[${rowJson.join(',')}],"cursor":${cursor}}`;
}

export function droppedFrame(range: Omit<DroppedMessage, 'type'>): string {
  return JSON.stringify({ type: 'dropped', count: range.count, from: range.from, to: range.to, ...(range.reason ? { reason: range.reason } : {}) } satisfies DroppedMessage);
}

export function errorFrame(error: LiveErrorCode, message: string): string {
  return JSON.stringify({ type: 'error', error, message } satisfies ErrorMessage);
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * A server frame as the page reads it, or undefined for text that is not one (not JSON, a type this page does not
 * know, a field of the wrong type): the page skips it rather than act on half a frame. Checked by hand, not with
 * zod, so that the page's bundle does not carry zod for four shapes; a `logs` frame's items are not checked one by
 * one (PostgreSQL built each of them from a stored row, CONTRACT §5, and a burst holds up to 4 MiB of them).
 */
export function decodeServerMessage(text: string): ServerMessage | undefined {
  let m: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return undefined;
    m = v as Record<string, unknown>;
  } catch {
    return undefined;
  }
  switch (m.type) {
    case 'hello':
      return isId(m.head) && typeof m.version === 'number' ? { type: 'hello', head: m.head, version: m.version } : undefined;
    case 'logs':
      return Array.isArray(m.items) && isId(m.cursor) ? { type: 'logs', items: m.items as LogItem[], cursor: m.cursor } : undefined;
    case 'dropped':
      if (!isId(m.count) || !isId(m.from) || !isId(m.to) || (m.reason !== undefined && m.reason !== 'retention')) return undefined;
      return { type: 'dropped', count: m.count, from: m.from, to: m.to, ...(m.reason ? { reason: m.reason } : {}) };
    case 'error':
      return typeof m.error === 'string' && typeof m.message === 'string' ? { type: 'error', error: m.error, message: m.message } : undefined;
    default:
      return undefined;
  }
}
