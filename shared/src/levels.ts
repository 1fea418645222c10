// Level names and pino's numeric levels (CONTRACT §3). Stored as the number so that "minimum level"
// is a range condition on an index.
export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LevelName = (typeof LEVELS)[number];

export const LEVEL_VALUES: Record<LevelName, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

/**
 * Names other loggers and shippers use (syslog, zap, log4j, Serilog, .NET, Loki's detected_level; issue 14), each
 * mapped to the nearest standard level at or below it in severity: `notice` sits between info and warn → info;
 * zap's `dpanic` between error and panic → error; Serilog's `verbose` is its lowest → trace.
 */
export const LEVEL_ALIASES: Readonly<Record<string, LevelName>> = {
  warning: 'warn',
  err: 'error',
  crit: 'fatal',
  critical: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  alert: 'fatal',
  panic: 'fatal',
  dpanic: 'error',
  notice: 'info',
  information: 'info',
  informational: 'info',
  verbose: 'trace',
};

/** The attribute that keeps a custom pino level's own number (e.g. `customLevels: { audit: 35 }` → info + 35). */
export const LEVEL_NUMBER_ATTRIBUTE = 'level_number';

const NAME_BY_VALUE = new Map<number, LevelName>(LEVELS.map((name) => [LEVEL_VALUES[name], name]));

export function levelName(value: number): LevelName {
  return NAME_BY_VALUE.get(value) ?? 'info';
}

/** A level name or alias (any case) or a standard pino number (also as a string) → its number; undefined when unknown. */
export function levelValue(input: unknown): number | undefined {
  if (typeof input === 'number') return NAME_BY_VALUE.has(input) ? input : undefined;
  if (typeof input === 'string') {
    const lower = input.toLowerCase();
    if (Object.hasOwn(LEVEL_VALUES, lower)) return LEVEL_VALUES[lower as LevelName];
    if (Object.hasOwn(LEVEL_ALIASES, lower)) return LEVEL_VALUES[LEVEL_ALIASES[lower]!];
    if (/^\d{2}$/.test(input)) return levelValue(Number(input));
  }
  return undefined;
}

/**
 * A custom pino level number (an integer that is not 10, 20 … 60) → the nearest standard level below it: 35 → 30,
 * 65 → 60; below 10 → 10 (nothing is lower than trace). Undefined for anything but a non-negative integer.
 */
export function customLevelValue(input: number): number | undefined {
  if (!Number.isSafeInteger(input) || input < 0) return undefined;
  return Math.min(60, Math.max(10, Math.floor(input / 10) * 10));
}
