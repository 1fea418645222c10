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

const NAME_BY_VALUE = new Map<number, LevelName>(LEVELS.map((name) => [LEVEL_VALUES[name], name]));

export function levelName(value: number): LevelName {
  return NAME_BY_VALUE.get(value) ?? 'info';
}

/** A level name (any case) or pino number → its number; undefined when unknown. */
export function levelValue(input: unknown): number | undefined {
  if (typeof input === 'number') return NAME_BY_VALUE.has(input) ? input : undefined;
  if (typeof input === 'string') {
    const lower = input.toLowerCase();
    if (Object.hasOwn(LEVEL_VALUES, lower)) return LEVEL_VALUES[lower as LevelName];
    if (/^\d{2}$/.test(input)) return levelValue(Number(input));
  }
  return undefined;
}
