// Rows leave PostgreSQL already serialized as API items (CONTRACT §5): each row is turned into JSON exactly once,
// by the database, and the gateway only concatenates those strings into responses and frames.
import { LEVEL_NAME_SQL } from '@logstream/shared/sql.js';

/** SQL expression for one API item as JSON text. Timestamps as RFC 3339 UTC with milliseconds. */
export const ITEM_JSON_SQL = `json_build_object(
  'id', id,
  'timestamp', to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'received_at', to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'level', ${LEVEL_NAME_SQL},
  'service', service,
  'message', message,
  'attributes', attributes)::text`;

/** Columns the live hub needs to filter a row in JS, plus its JSON. */
export const LIVE_COLUMNS_SQL = `id, level, service, message, (extract(epoch FROM received_at) * 1000)::float8 AS rt, ${ITEM_JSON_SQL} AS json`;

export interface LiveRow {
  id: number;
  level: number;
  service: string;
  message: string;
  /** received_at in epoch ms, for the push-latency metric. */
  rt: number;
  json: string;
}
