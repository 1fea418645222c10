// The two-step text search of GET /logs (newest rows first, then the rest) returns exactly what one ILIKE query
// returns, for any window size, cursor, limit and filter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../../test/helpers/seed.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/test-env.js';
import { likePattern, parseLogsQuery, queryLogs } from '../src/logs-query.js';

let t: TestEnv;
let ids: number[];
const WORDS = ['TimeOut', 'timeout', 'deadlock', 'ok', 'Ünïcode', '50%_off'];

beforeAll(async () => {
  t = await createTestEnv('logs_query');
  ids = await seed(
    t.pool,
    t.channel,
    Array.from({ length: 500 }, (_, i) => ({
      message: `req ${i} ${i % 7 === 0 ? WORDS[0] : i % 11 === 0 ? WORDS[1] : i % 97 === 0 ? WORDS[2] : i % 53 === 0 ? WORDS[4] : i % 61 === 0 ? WORDS[5] : WORDS[3]}`,
      service: i % 2 ? 'api' : 'web',
      level: 30 + (i % 3) * 10,
    })),
  );
});
afterAll(async () => t.cleanup());

async function reference(q: string, params: Record<string, string>): Promise<number[]> {
  const values: unknown[] = [likePattern(q.toLowerCase())];
  const where = ['message ILIKE $1'];
  if (params.before) {
    values.push(Number(params.before));
    where.push(`id < $${values.length}`);
  }
  if (params.service) {
    values.push(params.service);
    where.push(`service = $${values.length}`);
  }
  values.push(Number(params.limit ?? 50));
  const { rows } = await t.pool.query(`SELECT id FROM logs WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${values.length}`, values);
  return rows.map((r) => Number(r.id));
}

describe('text search in two steps', () => {
  it.each([1, 5, 37, 200, 1000])('matches a single ILIKE query with a window of %i rows', async (window) => {
    for (const q of ['timeout', 'DEADLOCK', 'ünïcode', '50%_', 'req 4', 'absent-word']) {
      for (const params of [{}, { limit: '3' }, { limit: '1000' }, { before: String(ids[250]) }, { service: 'api', limit: '7' }] as Record<string, string>[]) {
        const parsed = parseLogsQuery(new Map(Object.entries({ q, ...params })));
        const page = await queryLogs(t.pool, parsed, window);
        expect(page.ids, `q=${q} ${JSON.stringify(params)} window=${window}`).toEqual(await reference(q, params));
      }
    }
  });
});
