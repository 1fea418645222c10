// The live protocol (CONTRACT §6) and the row filter shared by GET /logs, /live and the web page:
// one definition, imported by the gateway and bundled into the page.
import { z } from 'zod';
import { LEVELS, LEVEL_VALUES, type LevelName } from './levels.js';

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
  /** Attribute conditions (issue 16: `attr.host=web-1`), all of which must hold; absent or empty = none. */
  attrs?: AttrFilter[];
}

/**
 * One attribute condition: `attr.host=web-1,web-2` is any of the values (compared as text: 502 matches the number
 * 502), `attr.status=500..599` an inclusive numeric range (`500..` and `..499` are open-ended). Sorted by name.
 */
export type AttrFilter = { name: string; values: string[] } | { name: string; min?: number; max?: number };

export const MAX_ATTR_FILTERS = 16;
const attrName = /^[A-Za-z0-9_.:@/-]{1,128}$/;
const NUMBER = /^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,2})?\s*$/;
const RANGE = /^(-?[0-9]+(?:\.[0-9]+)?)?\.\.(-?[0-9]+(?:\.[0-9]+)?)?$/;

/** The `attr.<name>` parameters of a query string, for parseFilter's `attr`. */
export function attrParams(params: Map<string, string>): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const [k, v] of params) if (k.startsWith('attr.')) (out ??= {})[k.slice(5)] = v;
  return out;
}

const attrFilters = z.record(z.string(), z.string({ error: 'attr values are strings such as "web-1", "web-1,web-2" or "500..599"' })).transform((rec, ctx) => {
  const out: AttrFilter[] = [];
  const names = Object.keys(rec).sort();
  if (names.length > MAX_ATTR_FILTERS) {
    ctx.addIssue({ code: 'custom', message: `at most ${MAX_ATTR_FILTERS} attribute filters` });
    return z.NEVER;
  }
  for (const name of names) {
    const raw = rec[name]!;
    if (!attrName.test(name)) {
      ctx.addIssue({ code: 'custom', message: `invalid attribute name ${JSON.stringify(name.slice(0, 80))}: 1-128 characters of A-Z a-z 0-9 _ . : @ / -` });
      return z.NEVER;
    }
    const range = RANGE.exec(raw);
    if (range && (range[1] !== undefined || range[2] !== undefined)) {
      out.push({ name, ...(range[1] !== undefined ? { min: Number(range[1]) } : {}), ...(range[2] !== undefined ? { max: Number(range[2]) } : {}) });
      continue;
    }
    const parts = raw.split(',').filter((v) => v !== '');
    const values = [...new Set(parts)].sort();
    if (values.length === 0 || parts.length > 100 || raw.length > 1024) {
      ctx.addIssue({ code: 'custom', message: `attr.${name}: give one value, several separated by commas (at most 100), or a range such as 500..599` });
      return z.NEVER;
    }
    out.push({ name, values });
  }
  return out;
});

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
  attr: attrFilters.optional(),
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
  const filter: Filter = { services: r.data.service ?? [], minLevel: r.data.level ?? 0, q: r.data.q ?? '' };
  if (r.data.attr && r.data.attr.length > 0) filter.attrs = r.data.attr;
  return { ok: true, filter };
}

/**
 * A canonical string for a filter: subscribers with equal keys share one frame (and one uWS topic). `foldedQ` is
 * q lower-cased as PostgreSQL does it (gateway/src/text-match.ts), so that "Timeout" and "timeout" share a group.
 */
export function filterKey(f: Filter, foldedQ: string): string {
  const attrs = f.attrs?.length ? `&a=${encodeURIComponent(JSON.stringify(f.attrs))}` : '';
  return `s=${f.services.join(',')}&l=${f.minLevel}&q=${encodeURIComponent(foldedQ)}${attrs}`;
}

/** A row's attribute value as SQL's `attributes->>name` gives it (text; null for JSON null, objects as JSON). */
function attrText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The attribute conditions, as gateway/src/logs-query.ts filterWhere writes them in SQL (logql_num for ranges). */
export function matchesAttrs(attrs: AttrFilter[], attributes: Record<string, unknown>): boolean {
  for (const a of attrs) {
    const v = Object.hasOwn(attributes, a.name) ? attrText(attributes[a.name]) : undefined;
    if (v === undefined) return false;
    if ('values' in a) {
      if (!a.values.includes(v)) return false;
      continue;
    }
    if (!NUMBER.test(v)) return false;
    const n = Number(v);
    if ((a.min !== undefined && n < a.min) || (a.max !== undefined && n > a.max)) return false;
  }
  return true;
}

/** The level and service part of a filter; the text part (q) is gateway/src/text-match.ts, one definition with SQL's. */
export function matchesFields(f: Filter, row: { level: number; service: string; json?: string; attributes?: Record<string, unknown> }): boolean {
  if (row.level < f.minLevel) return false;
  if (f.services.length > 0 && !f.services.includes(row.service)) return false;
  if (f.attrs?.length) {
    // Live rows carry their item JSON; its attributes are parsed once per row, on the first filter that needs them.
    row.attributes ??= row.json ? ((JSON.parse(row.json) as { attributes?: Record<string, unknown> }).attributes ?? {}) : {};
    if (!matchesAttrs(f.attrs, row.attributes)) return false;
  }
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

/** GET /logs (CONTRACT §5): a page of items, newest first (oldest first with `after`), and where to continue. */
export interface LogsResponse {
  items: LogItem[];
  next_before: number | null;
  next_after: number | null;
}

/** A LogsResponse from items already serialized once each (by PostgreSQL): concatenation, no second JSON.stringify. */
export function encodeLogsResponse(itemsJson: readonly string[], nextBefore: number | null, nextAfter: number | null): string {
  return `{"items":[${itemsJson.join(',')}],"next_before":${nextBefore},"next_after":${nextAfter}}`;
}

/** GET /fields (issue 16): a view's attributes and their most frequent values, counted over a sample of its rows. */
export interface FieldsResponse {
  window: string;
  from: string;
  to: string;
  /** Rows the sample holds at most; `rows` < `sample` means every matching row of the window was counted. */
  sample: number;
  rows: number;
  fields: { name: string; count: number; values: { value: string; count: number }[] }[];
}

// ---- client → server

export const subscribeSchema = z.object({
  type: z.literal('subscribe'),
  filter: z.record(z.string(), z.unknown()).optional(),
  since: z.number().int().min(0).optional(),
});

export type SubscribeMessage = z.infer<typeof subscribeSchema>;

// ---- server → client: every frame's type, encoder and the page's decoder, in a module of their own without zod

export * from './live-frames.js';
