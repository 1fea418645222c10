// One definition of a text match (issue 11 point 7), used by every path: `q` matches a row when the message,
// lower-cased by PostgreSQL, contains q lower-cased by PostgreSQL (its lower(), in the database's collation).
// The stored paths (/logs, /stats, /live replays and dropped counts) ask PostgreSQL with textMatchSql or ILIKE,
// which is lower() LIKE lower() in a UTF-8 database. The live hub filters fetched rows in JS (live/text-index.ts), so it folds with the
// same mapping, read from PostgreSQL at start-up: JavaScript's own toLowerCase() differs (q=ΟΔΟΣ: JS gives a final
// ς, PostgreSQL σ; İ: JS "i̇", PostgreSQL "i"), which made /live match rows that /logs, /stats and replays did not.
import type pg from 'pg';

/** SQL condition: message (a column) contains the parameter (raw q) case-insensitively, by the definition above. */
export const textMatchSql = (column: string, param: string) => `strpos(lower(${column}), lower(${param})) > 0`;

/** Every code point a PostgreSQL text can hold (no NUL, no surrogates), for the fold table. */
function allCodePoints(): string {
  const parts: string[] = [];
  let chunk: number[] = [];
  for (let cp = 1; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    chunk.push(cp);
    if (chunk.length === 8192) {
      parts.push(String.fromCodePoint(...chunk));
      chunk = [];
    }
  }
  parts.push(String.fromCodePoint(...chunk));
  return parts.join('');
}

/** Strings where a context-sensitive lower() (ICU's final sigma, length-changing İ) would differ from a per-character one. */
const CONTEXT_PROBES = ['ΟΔΟΣ ΑΣΑ', 'İSTANBUL', 'ΣΑΣ.Σ'];

export class TextFold {
  private readonly re: RegExp | undefined;

  /** `map`: code point → its PostgreSQL lower case, for every code point lower() changes. */
  constructor(private readonly map: ReadonlyMap<string, string>) {
    const chars = [...map.keys()].map((c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
    this.re = chars.length > 0 ? new RegExp(`[${chars.join('')}]`, 'gu') : undefined;
  }

  /** PostgreSQL's lower(s), computed in JS. */
  fold(s: string): string {
    return this.re ? s.replace(this.re, (c) => this.map.get(c)!) : s;
  }
}

export interface LoadedFold {
  fold: TextFold;
  /** false when lower() is not per character (an ICU collation): the live path may then differ on rare strings. */
  perCharacter: boolean;
}

/**
 * Read PostgreSQL's lower() of every code point in one query (1.1 M code points, ~4 MB: ~200 ms here) and keep the
 * ~1,400 it changes. lower() maps character by character for the libc and C providers, so the table is exact;
 * context-sensitive ICU collations are detected by probing and reported.
 */
export async function loadTextFold(db: pg.Pool | pg.Client): Promise<LoadedFold> {
  const all = allCodePoints();
  const { rows } = await db.query<{ lowered: string; probes: string[] }>('SELECT lower($1) AS lowered, ARRAY(SELECT lower(p) FROM unnest($2::text[]) AS p) AS probes', [all, CONTEXT_PROBES]);
  const from = [...all];
  const to = [...rows[0]!.lowered];
  const map = new Map<string, string>();
  let perCharacter = from.length === to.length;
  if (perCharacter) {
    for (let i = 0; i < from.length; i++) if (from[i] !== to[i]) map.set(from[i]!, to[i]!);
  }
  const fold = new TextFold(map);
  perCharacter &&= CONTEXT_PROBES.every((p, i) => fold.fold(p) === rows[0]!.probes[i]);
  return { fold, perCharacter };
}
