// Loki's request parameters (docs: reference/loki-http-api.md, pkg/loghttp/params.go): times as ns, float seconds
// or RFC 3339; durations as Prometheus durations or float seconds; defaults as Loki's.
import { HttpError, type ErrorCode } from '@logstream/shared/errors.js';
import { LogQLError, parseDurationMs, parseLogQL } from '../logql/parse.js';
import type { Query } from '../logql/ast.js';

/** An error in the shape Loki's clients read (Grafana shows `message`), plus logstream's `error` code (CONTRACT §7). */
export class LokiError extends HttpError {
  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    headers: Record<string, string> = {},
    /** Prometheus's error types, which Loki's API uses: bad_data, unavailable, timeout, … */
    readonly errorType = 'bad_data',
  ) {
    super(status, code, message, undefined, headers);
  }

  override toJSON(): Record<string, unknown> {
    return { status: 'error', errorType: this.errorType, error: this.code, message: this.message };
  }
}

export const lokiBadRequest = (message: string) => new LokiError(400, 'bad_request', message);

export function parseQueryText(text: string | null): Query {
  if (text === null || text.trim() === '') throw lokiBadRequest('query is required, such as query={service="api"} |= "timeout"');
  try {
    return parseLogQL(text);
  } catch (err) {
    if (err instanceof LogQLError) throw new LokiError(400, err.kind === 'unsupported' ? 'unsupported_logql' : 'bad_logql', err.message);
    throw err;
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;
const MAX_NS = 253_402_300_799_999_999_999n; // 9999-12-31

/** A time parameter in ns: an integer of up to 10 digits is seconds, longer ones ns; a decimal is seconds. */
export function parseTimeNs(name: string, raw: string | null, def: bigint): bigint {
  if (raw === null || raw === '') return def;
  let ns: bigint | undefined;
  if (/^\d+$/.test(raw) && raw.length <= 20) ns = raw.length <= 10 ? BigInt(raw) * 1_000_000_000n : BigInt(raw);
  else if (/^\d+\.\d+$/.test(raw) && raw.length <= 30) {
    const [s, frac] = raw.split('.') as [string, string];
    ns = BigInt(s) * 1_000_000_000n + BigInt(frac.slice(0, 9).padEnd(9, '0'));
  } else {
    const m = RFC3339.exec(raw);
    const ms = m ? Date.parse(raw.replace(/\.\d+/, '')) : NaN;
    if (m && Number.isFinite(ms)) ns = BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
  }
  if (ns === undefined || ns > MAX_NS) {
    throw lokiBadRequest(`invalid ${name}: ${JSON.stringify(raw.slice(0, 40))}; use ns since the epoch (1700000000000000000), seconds (1700000000.5) or RFC 3339 (2026-11-26T18:00:00Z)`);
  }
  return ns;
}

/** A duration parameter in ms: float seconds or a Prometheus duration (`15s`, `1m`). */
export function parseDurationParam(name: string, raw: string | null): number | undefined {
  if (raw === null || raw === '') return undefined;
  let ms: number | undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) ms = Math.round(Number(raw) * 1000);
  else ms = parseDurationMs(raw);
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) throw lokiBadRequest(`invalid ${name}: ${JSON.stringify(raw.slice(0, 40))}; use seconds (15) or a duration (15s, 1m)`);
  return ms;
}

export function parseLimit(raw: string | null, def: number, max: number): number {
  if (raw === null || raw === '') return def;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw lokiBadRequest(`invalid limit ${JSON.stringify(raw.slice(0, 40))}: a whole number of at least 1`);
  if (Number(raw) > max) throw lokiBadRequest(`max entries limit per query exceeded, limit > max_entries_limit (${raw} > ${max})`);
  return Number(raw);
}

export function parseDirection(raw: string | null): 'forward' | 'backward' {
  if (raw === null || raw === '') return 'backward';
  const d = raw.toLowerCase();
  if (d !== 'forward' && d !== 'backward') throw lokiBadRequest(`invalid direction ${JSON.stringify(raw.slice(0, 40))}: forward or backward`);
  return d;
}

export const nowNs = () => BigInt(Date.now()) * 1_000_000n;
export const HOUR_NS = 3_600_000_000_000n;

/** start/end with Loki's defaults (end = now, start = end − since, or `defaultSpan` before end). */
export function timeRange(p: URLSearchParams, defaultSpanNs: bigint): { start: bigint; end: bigint } {
  const end = parseTimeNs('end', p.get('end'), nowNs());
  const since = parseDurationParam('since', p.get('since'));
  const start = parseTimeNs('start', p.get('start'), end - (since !== undefined ? BigInt(since) * 1_000_000n : defaultSpanNs));
  if (end < start) throw lokiBadRequest('invalid time range: end is before start');
  return { start, end };
}
