// Store rows through the processor's real store statement (commit-ordered ids, NOTIFY), without a stream.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { storeRows } from '../../processor/src/store-batch.js';

export interface SeedEvent {
  message: string;
  level?: number;
  service?: string;
  ts?: number;
  attributes?: Record<string, unknown>;
}

let seq = 0;

export async function seed(db: pg.Pool | pg.PoolClient, channel: string, events: SeedEvent[]): Promise<number[]> {
  const now = Date.now();
  const rows = events.map((e) =>
    JSON.stringify({ sid: `${now}-${seq++}-${randomUUID()}`, eid: randomUUID(), message: e.message, level: e.level ?? 30, service: e.service ?? 'seed', ts: e.ts ?? now, rt: now, attributes: e.attributes ?? {} }),
  );
  const before = Number((await db.query('SELECT coalesce(max(id), 0) AS m FROM logs')).rows[0].m);
  await storeRows(db, `[${rows.join(',')}]`, channel);
  const { rows: ids } = await db.query<{ id: number }>('SELECT id FROM logs WHERE id > $1 ORDER BY id', [before]);
  return ids.map((r) => Number(r.id));
}

/**
 * Message `i` of a search test: `m<i> ` and 12 letters drawn from `letters` by a fixed generator, so that random
 * words made of the same few letters are found in some messages, in some case, and not in others; the same `i`
 * always gives the same message.
 */
export function lettersMessage(i: number, letters: readonly string[]): string {
  let x = (i * 2654435761) % 4294967296;
  let m = `m${i} `;
  for (let k = 0; k < 12; k++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    m += letters[x % letters.length];
  }
  return m;
}
