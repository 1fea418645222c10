// Field mapping shared by the shipper decoders: the first present of several names, and a service name made valid.
import { SERVICE_PATTERN } from '@logstream/shared/event.js';
import { levelValue } from '@logstream/shared/levels.js';

/** The first key of `names` present in `fields` with a non-empty value, or undefined. */
export function firstKey(fields: Record<string, unknown>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = fields[name];
    if (v !== undefined && v !== null && v !== '') return name;
  }
  return undefined;
}

/**
 * A shipper's service name (a container "/web-1", a Kubernetes workload, an OTLP "checkout service") as a valid
 * service: characters outside [A-Za-z0-9_.:-] become "_", cut at 64, rather than a whole batch refused.
 */
export function serviceName(value: unknown): string {
  const s = String(value).replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 64);
  return SERVICE_PATTERN.test(s) ? s : 'default';
}

/** True when `value` is a level logstream reads (a name, an alias, or a number): otherwise it is kept as an attribute. */
export function knownLevel(value: unknown): boolean {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0;
  return typeof value === 'string' && (levelValue(value) !== undefined || /^\d{1,9}$/.test(value));
}
