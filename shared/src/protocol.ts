// The live protocol (CONTRACT §6) and the row filter shared by GET /logs, /live and the web page:
// one definition, imported by the gateway and bundled into the page.
import { z } from 'zod';
import { LEVELS, LEVEL_VALUES, type LevelName } from './levels.js';

export const PROTOCOL_VERSION = 1;
export const MAX_Q_CHARS = 256;
export const MAX_SERVICES_IN_FILTER = 50;

/** A stored row as the API returns it (CONTRACT §5). */
export interface LogItem {
  id: number;
  timestamp: string;
  received_at: string;
  level: LevelName;
  service: string;
  message: string;
  attributes: Record<string, unknown>;
}

export interface Filter {
  /** Services to match (any of); empty = all. Sorted, unique. */
  services: string[];
  /** Minimum level value (10-60); 0 = all. */
  minLevel: number;
  /** Text to find in message, as typed; matched case-insensitively by gateway/src/text-match.ts; '' = none. */
  q: string;
}

export const EMPTY_FILTER: Filter = { services: [], minLevel: 0, q: '' };

const serviceName = /^[A-Za-z0-9_.:-]{1,64}$/;

const serviceList = z
  .union([z.string(), z.array(z.string())], { error: 'service must be a name or a comma-separated list of names' })
  .transform((v, ctx) => {
    const names = (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
    if (names.length > MAX_SERVICES_IN_FILTER) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_SERVICES_IN_FILTER} services` });
      return z.NEVER;
    }
    for (const n of names) {
      if (!serviceName.test(n)) {
        ctx.addIssue({ code: 'custom', message: `invalid service name ${JSON.stringify(n.slice(0, 80))}: 1-64 characters of A-Z a-z 0-9 _ . : -` });
        return z.NEVER;
      }
    }
    return [...new Set(names)].sort();
  });

const levelFilter = z
  .string({ error: `level must be one of ${LEVELS.join(', ')}` })
  .transform((v, ctx) => {
    if (v === '') return 0;
    const lower = v.toLowerCase();
    if (Object.hasOwn(LEVEL_VALUES, lower)) return LEVEL_VALUES[lower as LevelName];
    ctx.addIssue({ code: 'custom', message: `unknown level ${JSON.stringify(v.slice(0, 40))}: use one of ${LEVELS.join(', ')}` });
    return z.NEVER;
  });

const qFilter = z
  .string({ error: 'q must be a string' })
  .max(MAX_Q_CHARS, `q is at most ${MAX_Q_CHARS} characters`)
  .refine((s) => !s.includes('\u0000'), 'q must not contain NUL characters');

export const filterSchema = z.object({
  service: serviceList.optional(),
  level: levelFilter.optional(),
  q: qFilter.optional(),
});

export type FilterInput = z.input<typeof filterSchema>;

export type FilterResult = { ok: true; filter: Filter } | { ok: false; message: string; path: string };

export function parseFilter(input: unknown): FilterResult {
  const r = filterSchema.safeParse(input ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.join('.');
    return { ok: false, path, message: `${path ? path + ': ' : ''}${issue.message}` };
  }
  return { ok: true, filter: { services: r.data.service ?? [], minLevel: r.data.level ?? 0, q: r.data.q ?? '' } };
}

/**
 * A canonical string for a filter: subscribers with equal keys share one frame (and one uWS topic). `foldedQ` is
 * q lower-cased as PostgreSQL does it (gateway/src/text-match.ts), so that "Timeout" and "timeout" share a group.
 */
export function filterKey(f: Filter, foldedQ: string): string {
  return `s=${f.services.join(',')}&l=${f.minLevel}&q=${encodeURIComponent(foldedQ)}`;
}

/** The level and service part of a filter; the text part (q) is gateway/src/text-match.ts, one definition with SQL's. */
export function matchesFields(f: Filter, row: { level: number; service: string }): boolean {
  if (row.level < f.minLevel) return false;
  if (f.services.length > 0 && !f.services.includes(row.service)) return false;
  return true;
}

/** GET /stats (CONTRACT §5): counts for a window, from the rollups or the rows. */
export interface StatsResponse {
  window: string;
  bucket: string;
  from: string;
  to: string;
  source: 'rollup_minute' | 'rollup_hour' | 'logs';
  /** Newest row id when counted: the counts cover exactly the matching rows with id ≤ head. */
  head: number;
  /**
   * false when a text search (q) ran out of its time budget (SEARCH_BUDGET_MS): only the buckets from
   * counted_from on were counted; older ones read 0 but were not looked at. counted_from = from when complete.
   */
  complete: boolean;
  counted_from: string;
  total: number;
  by_level: Record<LevelName, number>;
  by_service: Record<string, number>;
  top_services: { service: string; count: number }[];
  events_per_second: number;
  rate_span_s: number;
  buckets: { start: string; total: number; counts: Record<LevelName, number> }[];
}

// ---- client → server

export const subscribeSchema = z.object({
  type: z.literal('subscribe'),
  filter: z.record(z.string(), z.unknown()).optional(),
  since: z.number().int().min(0).optional(),
});

export type SubscribeMessage = z.infer<typeof subscribeSchema>;

// ---- server → client

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
}
export interface ErrorMessage {
  type: 'error';
  error: string;
  message: string;
}
export type ServerMessage = HelloMessage | LogsMessage | DroppedMessage | ErrorMessage | { type: 'subscribed'; filter: FilterInput; cursor: number };

/**
 * Build a `logs` frame from rows already serialized once each: the frame is string concatenation,
 * never a second JSON.stringify of the rows.
 */
export function logsFrame(rowJson: readonly string[], cursor: number): string {
  return `{"type":"logs","items":[${rowJson.join(',')}],"cursor":${cursor}}`;
}

export function errorFrame(error: string, message: string): string {
  return JSON.stringify({ type: 'error', error, message } satisfies ErrorMessage);
}
