// A stored row's Loki labels: service, level, its attributes, and the fields its message gave `| json` / `| logfmt`
// (computed by PostgreSQL, migration 016), minus those `| drop` removed. Names outside Loki's [A-Za-z_][A-Za-z0-9_]*
// are written with _ (as Loki's json parser does), values as strings; null values are no label.
import { levelName } from '@logstream/shared/levels.js';

export type Labels = Record<string, string>;

export interface LabelledRow {
  service?: string | null;
  level?: number | null;
  attributes?: Record<string, unknown> | null;
  json_fields?: Record<string, unknown> | null;
  logfmt_fields?: Record<string, unknown> | null;
}

/** Sanitized names by raw name: a 1,000-line answer asks for the same few names a thousand times each. */
const sanitized = new Map<string, string>();
const SANITIZED_MAX = 10_000;

const sanitize = (name: string) => {
  let s = sanitized.get(name);
  if (s !== undefined) return s;
  s = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (/^[0-9]/.test(s)) s = `_${s}`;
  if (sanitized.size >= SANITIZED_MAX) sanitized.clear();
  sanitized.set(name, s);
  return s;
};

function addFields(out: Labels, fields: Record<string, unknown> | null | undefined): void {
  if (!fields) return;
  for (const [k, v] of Object.entries(fields)) {
    if (v === null || v === undefined || typeof v === 'object') continue;
    const name = sanitize(k);
    if (name === '' || Object.hasOwn(out, name)) continue;
    out[name] = String(v);
  }
}

export function rowLabels(row: LabelledRow, dropped: Set<string>): Labels {
  const out: Labels = {};
  if (row.service != null) out.service = row.service;
  if (row.level != null) out.level = levelName(row.level);
  addFields(out, row.attributes);
  addFields(out, row.json_fields);
  addFields(out, row.logfmt_fields);
  for (const d of dropped) delete out[d];
  return sortLabels(out);
}

export function sortLabels(l: Labels): Labels {
  return Object.fromEntries(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function isSorted(l: Labels): boolean {
  let prev: string | undefined;
  for (const k in l) {
    if (prev !== undefined && prev > k) return false;
    prev = k;
  }
  return true;
}

/**
 * A canonical key for a label set (labels sorted). rowLabels' are sorted already: sorting them again for the key
 * was the gateway's largest own cost in a 1,000-line query_range (CPU profile: sortLabels 4.8 ms a request).
 */
export const labelsKey = (l: Labels) => JSON.stringify(isSorted(l) ? l : sortLabels(l));
