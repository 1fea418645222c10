// The gateway's REST API as the page uses it (CONTRACT §5 and GET /stats).
import type { FieldsResponse, LogItem, LogsResponse, StatsResponse } from '@logstream/shared/protocol.js';

export interface ViewFilter {
  services: string[];
  level: string;
  q: string;
  /** Field filters (issue 16): attribute name → value, as `attr.<name>=<value>`. */
  attrs?: Record<string, string>;
}

export type Stats = StatsResponse;

export function filterParams(f: ViewFilter): URLSearchParams {
  const p = new URLSearchParams();
  if (f.services.length) p.set('service', f.services.join(','));
  if (f.level) p.set('level', f.level);
  if (f.q) p.set('q', f.q);
  for (const [k, v] of Object.entries(f.attrs ?? {}).sort()) p.set(`attr.${k}`, v);
  return p;
}

export class ApiError extends Error {}

const TOKEN_KEY = 'logstream.readToken';

/**
 * With READ_TOKENS set, the gateway wants a token on /logs, /stats and /live: open the page as `/ui?token=…`.
 * It is kept for this tab (sessionStorage), since the page rewrites its URL to hold the filter.
 */
export const readToken: string | null = (() => {
  const fromUrl = new URLSearchParams(location.search).get('token');
  try {
    if (fromUrl) sessionStorage.setItem(TOKEN_KEY, fromUrl);
    return fromUrl ?? sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return fromUrl; // storage disabled
  }
})();

/** 503s the page waits out before it shows an error: busy gates, statement timeouts, a restarting database. */
const RETRIES_ON_503 = 3;

async function getJson<T>(path: string): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (readToken) headers.authorization = `Bearer ${readToken}`;
  let res = await fetch(path, { headers });
  // A 503 is transient by the contract (it carries Retry-After): wait as told (at most 5 s) instead of showing it.
  for (let i = 0; i < RETRIES_ON_503 && res.status === 503; i++) {
    const wait = Math.min(5, Math.max(0.2, Number(res.headers.get('retry-after')) || 1));
    await new Promise((r) => setTimeout(r, wait * 1000));
    res = await fetch(path, { headers });
  }
  const body = await res.json().catch(() => ({ message: res.statusText }));
  if (!res.ok) throw new ApiError((body as { message?: string }).message ?? `HTTP ${res.status}`);
  return body as T;
}

export type LogsPage = LogsResponse;

export function fetchLogs(f: ViewFilter, extra: Record<string, string | number>): Promise<LogsPage> {
  const p = filterParams(f);
  for (const [k, v] of Object.entries(extra)) p.set(k, String(v));
  return getJson<LogsPage>(`/logs?${p}`);
}

/**
 * Rows older than `before` (newest first), up to `limit`. A text search may answer a short page with a cursor when
 * it ran out of its time budget (the gateway's SEARCH_BUDGET_MS: a rare word in a big table): read on from
 * next_before, up to `maxRequests` pages, and hand back where to continue.
 */
export async function fetchOlderLogs(
  f: ViewFilter,
  extra: Record<string, string | number>,
  limit: number,
  onProgress: (before: number) => void = () => {},
  maxRequests = 10,
): Promise<LogsPage> {
  const items: LogItem[] = [];
  let cursor: Record<string, number> = {};
  for (let request = 1; ; request++) {
    const page = await fetchLogs(f, { ...extra, ...cursor, limit: limit - items.length });
    items.push(...page.items);
    if (items.length >= limit || page.next_before === null || request >= maxRequests) return { items, next_before: page.next_before, next_after: null };
    cursor = { before: page.next_before };
    onProgress(page.next_before);
  }
}

export function fetchLog(id: number): Promise<LogItem> {
  return getJson<LogItem>(`/logs/${id}`);
}

export function fetchStats(f: ViewFilter, window: string): Promise<Stats> {
  const p = filterParams(f);
  p.set('window', window);
  return getJson<Stats>(`/stats?${p}`);
}

/** GET /fields: the facets of the view (attributes and their top values with counts). */
export type Fields = FieldsResponse;

export function fetchFields(f: ViewFilter, window: string, range?: { from: number; to: number }): Promise<Fields> {
  const p = filterParams(f);
  p.set('window', window);
  if (range) {
    p.set('since', new Date(range.from).toISOString());
    p.set('until', new Date(range.to - 1).toISOString());
  }
  return getJson<Fields>(`/fields?${p}`);
}
