// The bench's events: ~200-byte messages shaped like access-log lines, identical whether built here (for the
// load generators) or by PostgreSQL (for the ceiling and the 5-million-row table), so ceiling and pipeline
// store the same rows.
import { createHash } from 'node:crypto';

export const SERVICES = ['api', 'web', 'auth', 'billing', 'search', 'mailer', 'worker', 'cron'] as const;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const RESOURCES = ['orders', 'users', 'invoices', 'search', 'sessions', 'carts'];
const STATUS = [200, 200, 200, 201, 404, 500];
const PAD = ' lorem ipsum dolor sit amet';
export const MESSAGE_BYTES = 200;

/** Words that `/logs?q=` looks for in the stats scenario: ~1% of rows, ~0.01% of rows, and none. */
export const COMMON_WORD = 'timeout';
export const RARE_WORD = 'deadlock';
export const ABSENT_WORD = 'zzqx-absent';

export interface BenchEvent {
  message: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  service: string;
  attributes: { host: string; status: number; duration_ms: number };
}

function extra(i: number): string {
  if (i % 10_000 === 4321) return ` ${RARE_WORD} detected`;
  if (i % 100 === 7) return ` upstream ${COMMON_WORD}`;
  return '';
}

export function benchLevel(i: number): BenchEvent['level'] {
  if (i % 10_000 === 4321) return 'error';
  if (i % 100 === 7) return 'warn';
  if (i % 50 === 3) return 'debug';
  return 'info';
}

export function benchMessage(i: number): string {
  const user = createHash('md5').update(String(i)).digest('hex');
  const base = `${METHODS[i % 4]} /api/v1/${RESOURCES[i % 6]}/${i} ${STATUS[i % 6]} ${i % 997}ms${extra(i)} user=${user}`;
  return base.padEnd(MESSAGE_BYTES, PAD);
}

export function benchEvent(i: number, service?: string, message?: string): BenchEvent {
  return {
    message: message ?? benchMessage(i),
    level: benchLevel(i),
    service: service ?? SERVICES[i % SERVICES.length]!,
    attributes: { host: `web-${i % 16}`, status: STATUS[i % 6]!, duration_ms: i % 997 },
  };
}

const LEVEL_SQL = `CASE WHEN i % 10000 = 4321 THEN 50 WHEN i % 100 = 7 THEN 40 WHEN i % 50 = 3 THEN 20 ELSE 30 END`;
const sqlArray = (xs: readonly (string | number)[]) => `(ARRAY[${xs.map((x) => (typeof x === 'number' ? x : `'${x}'`)).join(',')}])`;

/**
 * SELECT list producing logs rows for `i` from generate_series: the same message, level, service and attributes
 * as benchEvent(i). `idExpr` and `tsExpr` are SQL (ids from a sequence; timestamps chosen by the caller).
 */
export function benchRowsSelect(idExpr: string, tsExpr: string, from: number, to: number): string {
  const message = `rpad(${sqlArray(METHODS)}[1 + i % 4] || ' /api/v1/' || ${sqlArray(RESOURCES)}[1 + i % 6] || '/' || i || ' '
      || ${sqlArray(STATUS)}[1 + i % 6] || ' ' || (i % 997) || 'ms'
      || CASE WHEN i % 10000 = 4321 THEN ' ${RARE_WORD} detected' WHEN i % 100 = 7 THEN ' upstream ${COMMON_WORD}' ELSE '' END
      || ' user=' || md5(i::text), ${MESSAGE_BYTES}, '${PAD}')`;
  return `SELECT ${idExpr}, 'bench-' || i, gen_random_uuid(), ${tsExpr}, ${tsExpr}, ${LEVEL_SQL},
      ${sqlArray(SERVICES)}[1 + i % ${SERVICES.length}], ${message},
      jsonb_build_object('host', 'web-' || (i % 16), 'status', ${sqlArray(STATUS)}[1 + i % 6], 'duration_ms', i % 997)
    FROM generate_series(${from}, ${to}) AS i`;
}

export const LOGS_COLUMNS = `(id, stream_id, event_id, "timestamp", received_at, level, service, message, attributes)`;
