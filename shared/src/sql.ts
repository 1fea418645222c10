// The one parameter helper of every runtime query (issue 13 point 2): a placeholder is had by handing over its
// value, so that no `$n` is counted by hand and a clause can be added or moved without renumbering the others.
import { LEVELS, LEVEL_VALUES } from './levels.js';

export class Sql {
  /**
   * @param values The values of the placeholders handed out so far, in order: the statement's parameters. Given,
   *   the placeholders go on after those already in it.
   */
  constructor(readonly values: unknown[] = []) {}

  /** The placeholder (`$n`) of `value`, which becomes the statement's n-th parameter. */
  param(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

// The stored level is 10 × (its place in LEVELS + 1) (CONTRACT §3), which is what lets SQL name a level by
// indexing an array with level / 10; checked once here so that a new level cannot silently shift every name.
LEVELS.forEach((name, i) => {
  if (LEVEL_VALUES[name] !== 10 * (i + 1)) throw new Error(`levels.ts: ${name} is ${LEVEL_VALUES[name]}, the SQL level names expect ${10 * (i + 1)}`);
});

/** SQL for the name of a row's level (its `level` column), from LEVELS. */
export const LEVEL_NAME_SQL = `(ARRAY[${LEVELS.map((l) => `'${l}'`).join(',')}])[level / 10]`;
