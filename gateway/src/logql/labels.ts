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

const sanitize = (name: string) => {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
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

/** A canonical key for a label set (labels sorted). */
export const labelsKey = (l: Labels) => JSON.stringify(sortLabels(l));
