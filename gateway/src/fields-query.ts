// GET /fields (issue 16): the facets of a view — its attributes and their most frequent values with counts — for the
// page's field sidebar. Counted over the newest FIELDS_SAMPLE_ROWS matching rows of the window, as Kibana's field
// sidebar reads a sample: the answer costs the same on a 5 M-row table as on a small one, and says how many rows
// it covers (`rows` < `sample` means every matching row of the window was counted).
import type pg from 'pg';
import { badRequest, HttpError } from '@logstream/shared/errors.js';
import type { FieldsResponse } from '@logstream/shared/protocol.js';
import { hasSqlState } from '@logstream/shared/sqlstate.js';
import { parseLogsQuery } from './logs-query.js';
import { fieldCounts, type FieldCountRow } from './sql/fields-sample.js';
import { DEFAULT_WINDOW, formatDuration, MAX_WINDOW_MS, MIN_WINDOW_MS, parseDuration } from './stats-query.js';

export const FIELDS_SAMPLE_ROWS = 10_000;
/** Fields listed at most (the most frequent), and values per field by default and at most. */
const MAX_FIELDS = 50;
const DEFAULT_VALUES = 10;
const MAX_VALUES = 100;
/** A text search in the sample reads rows until it has found enough: PostgreSQL stops it past this. */
const FIELDS_TIMEOUT_MS = 10_000;

export async function queryFields(db: pg.Pool, params: Map<string, string>, now = Date.now()): Promise<FieldsResponse> {
  const q = parseLogsQuery(new Map([...params].filter(([k]) => k !== 'limit' && k !== 'fields' && k !== 'values' && k !== 'window')));
  const rawWindow = params.get('window') || DEFAULT_WINDOW;
  const windowMs = parseDuration(rawWindow);
  if (windowMs === undefined || windowMs < MIN_WINDOW_MS || windowMs > MAX_WINDOW_MS) throw badRequest(`window must be a duration from 1m to 30d such as 15m or 6h, got ${JSON.stringify(rawWindow.slice(0, 40))}`);
  const rawValues = params.get('values');
  if (rawValues !== undefined && (!/^\d{1,3}$/.test(rawValues) || Number(rawValues) < 1 || Number(rawValues) > MAX_VALUES)) throw badRequest(`values must be a whole number from 1 to ${MAX_VALUES}`);
  const perField = rawValues ? Number(rawValues) : DEFAULT_VALUES;
  const only = (params.get('fields') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (only.length > MAX_FIELDS) throw badRequest(`fields: at most ${MAX_FIELDS} names`);

  const from = q.since ?? new Date(now - windowMs);
  const to = q.until ?? new Date(now);
  const c = await db.connect();
  let rows: FieldCountRow[];
  try {
    await c.query('BEGIN READ ONLY');
    await c.query(`SET LOCAL statement_timeout = ${FIELDS_TIMEOUT_MS}`);
    // One statement: the sample, its size, and the (field, value) counts in it.
    rows = await fieldCounts(c, q.filter, from, to, only, FIELDS_SAMPLE_ROWS);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    if (hasSqlState(err, 'queryCanceled')) throw new HttpError(503, 'query_timeout', 'counting the fields took over 10 s (a text search over a long window): narrow the window or drop q', undefined, { 'Retry-After': '10' });
    throw err;
  } finally {
    c.release();
  }

  let sampled = 0;
  const byField = new Map<string, { count: number; values: { value: string; count: number }[] }>();
  for (const r of rows) {
    if (r.k === null) {
      sampled = r.n;
      continue;
    }
    let f = byField.get(r.k);
    if (!f) byField.set(r.k, (f = { count: 0, values: [] }));
    f.count += r.n;
    // A JSON null is no value (as `attr.x=` matches nothing), but the row has the field.
    if (r.v !== null) f.values.push({ value: r.v, count: r.n });
  }
  const byCount = <T extends { count: number }>(a: T, b: T, ka: string, kb: string) => b.count - a.count || (ka < kb ? -1 : ka > kb ? 1 : 0);
  const fields = [...byField]
    .sort(([ka, a], [kb, b]) => byCount(a, b, ka, kb))
    .slice(0, MAX_FIELDS)
    .map(([name, f]) => ({ name, count: f.count, values: f.values.sort((a, b) => byCount(a, b, a.value, b.value)).slice(0, perField) }));
  return { window: formatDuration(to.getTime() - from.getTime()), from: from.toISOString(), to: to.toISOString(), sample: FIELDS_SAMPLE_ROWS, rows: sampled, fields };
}
