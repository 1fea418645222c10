// The packed form of a closed partition (issue 15 point 6, migrations 018 and 019, step 1: the format and its build;
// nothing reads a packed copy yet). The copy holds exactly the partition's rows (every column, NULL event ids
// included), its batch ranges and summaries are those of their rows, its trigram index finds every batch holding a
// word (random words: the same rows as a match over the partition), 019's search (regex batch test,
// logs_pack_find) returns exactly the rows lower(message) LIKE returns (random words, K and İ that lower() folds to
// ASCII, newlines, words across two rows, repeated matches), its event-id index finds an event, a build replaces an
// earlier copy and is all or nothing, and retention drops the copy with its partition. Partitions of 2 seconds here.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { likePattern } from '../gateway/src/filter-sql.js';
import { lettersMessage, seed } from './helpers/seed.js';
import { createTestEnv, sleep, type TestEnv } from './helpers/test-env.js';

let t: TestEnv;
let part: string;
const ROWS = 350;
const BATCH = 100;

// Words from few letters, so that random words are found in some messages, in some case, and not in others; K
// (U+212A KELVIN SIGN) and İ are lowered to ASCII k and i, a newline is in some messages.
const ALPHABET = ['a', 'b', 'c', 'A', 'B', 'É', 'é', ' ', '%', '_', 'k', '\u212a', 'İ', 'i', '\n'];
// The last batch (rows 300-349) is ASCII only: logs_pack_find() counts its positions in bytes.
const ASCII = ALPHABET.filter((c) => c.charCodeAt(0) < 128);
const messageOf = (i: number) => lettersMessage(i, i >= 300 ? ASCII : ALPHABET);
// Migration 019's search over a packed copy, with logs_pack_search_args($1) as args: the batch test by its regex
// (the trigram index), the rows by logs_pack_find(), each tested with the text match; the per-row test of 018 when
// the args say so (re NULL: q empty or with a newline).
const SEARCH = (packed: string) => `
  SELECT b.ids[o] AS id FROM ${packed} b, logs_pack_search_args($1) a CROSS JOIN LATERAL unnest(logs_pack_find(b.messages, b.msg_starts, a.lq, a.folds)) o
  WHERE a.re IS NOT NULL AND logs_msgs_text(b.messages) ~ a.re AND strpos(lower(b.messages[o]), a.lq) > 0
  UNION ALL
  SELECT r.id FROM ${packed} b CROSS JOIN LATERAL unnest(b.ids, b.messages) r(id, message), logs_pack_search_args($1) a
  WHERE a.re IS NULL AND strpos(lower(r.message), a.lq) > 0
  ORDER BY 1`;
const UNPACKED = (packed: string) =>
  `${packed} b CROSS JOIN LATERAL logs_unpack(b.ids, b.stream_ids, b.event_ids, b.timestamps, b.received_ats, b.levels, b.services, b.messages, b.attrs) r`;

beforeAll(async () => {
  t = await createTestEnv('packed_storage', { partitions: false });
  await t.pool.query(`UPDATE logs_storage_settings SET partition_interval = '2 seconds'`);
  await sleep(2_000 - (Date.now() % 2_000) + 150);
  const ids = await seed(
    t.pool,
    t.channel,
    Array.from({ length: ROWS }, (_, i) => ({
      message: messageOf(i),
      level: [10, 20, 30, 30, 40, 50][i % 6],
      service: ['api', 'web', 'auth'][i % 3],
      ts: Date.UTC(2026, 10, 30) + ((i * 7919) % 100_000),
      attributes: i % 5 === 0 ? {} : { host: `h${i % 4}`, n: i, nested: { ok: i % 2 === 0, s: 'ΟΔΟΣ' } },
    })),
  );
  part = (await t.pool.query<{ p: string }>('SELECT tableoid::regclass::text AS p FROM logs WHERE id = $1', [ids[0]])).rows[0]!.p;
  expect((await t.pool.query(`SELECT count(*)::int AS n FROM ${part}`)).rows[0].n).toBe(ROWS);
  // A row stored before event ids existed.
  await t.pool.query(`UPDATE logs SET event_id = NULL WHERE id = $1`, [ids[7]]);
  await sleep(2_000 - (Date.now() % 2_000) + 150);
  await t.pool.query('SELECT logs_close_partitions()');
  await t.pool.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
});
afterAll(async () => t.cleanup());

describe('packed copy of a closed partition (migration 018)', () => {
  it('is built only for a closed partition', async () => {
    const { rows } = await t.pool.query<{ name: string }>(`SELECT name FROM logs_partitions WHERE NOT closed AND time_from IS NOT NULL LIMIT 1`);
    if (rows[0]) await expect(t.pool.query(`SELECT logs_pack_build($1)`, [rows[0].name])).rejects.toThrow(/not a closed partition/);
    await expect(t.pool.query(`SELECT logs_pack_build('logs_nonexistent')`)).rejects.toThrow(/not a closed partition/);
  });

  it('holds exactly the rows of the partition, in batches of consecutive ids', async () => {
    const { rows } = await t.pool.query(`SELECT rows::int, batches::int, bytes::bigint FROM logs_pack_build($1, $2)`, [part, BATCH]);
    expect(rows[0]).toMatchObject({ rows: ROWS, batches: Math.ceil(ROWS / BATCH) });
    const packed = `${part}_packed`;
    const diff = async (a: string, b: string) => (await t.pool.query(`SELECT count(*)::int AS n FROM (${a} EXCEPT ALL ${b}) d`)).rows[0].n;
    expect(await diff(`SELECT r.* FROM ${UNPACKED(packed)}`, `SELECT * FROM ${part}`)).toBe(0);
    expect(await diff(`SELECT * FROM ${part}`, `SELECT r.* FROM ${UNPACKED(packed)}`)).toBe(0);
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM ${UNPACKED(packed)} WHERE r.event_id IS NULL`)).rows[0].n).toBe(1);
    // Each batch: ids in order, its summaries those of its rows; batches do not overlap.
    const { rows: bad } = await t.pool.query(`
      SELECT b.id_from FROM ${packed} b
      WHERE b.row_count <> cardinality(b.ids) OR b.ids[1] <> b.id_from OR b.ids[cardinality(b.ids)] <> b.id_to
         OR b.ids <> ARRAY(SELECT x FROM unnest(b.ids) x ORDER BY x)
         OR b.ts_min <> (SELECT min(x) FROM unnest(b.timestamps) x) OR b.ts_max <> (SELECT max(x) FROM unnest(b.timestamps) x)
         OR b.level_mask <> (SELECT bit_or(1 << (x / 10)) FROM unnest(b.levels) x)
         OR b.service_set <> ARRAY(SELECT DISTINCT x FROM unnest(b.services) x ORDER BY x)
         OR EXISTS (SELECT FROM ${packed} o WHERE o.id_from <> b.id_from AND o.id_from <= b.id_to AND o.id_to >= b.id_from)`);
    expect(bad).toEqual([]);
    expect((await t.pool.query(`SELECT array_agg(row_count ORDER BY id_from) AS n FROM ${packed}`)).rows[0].n).toEqual([100, 100, 100, 50]);
  });

  it('its search index finds the same rows as a match over the partition, for random words', async () => {
    const packed = `${part}_packed`;
    const client = await t.pool.connect();
    try {
      // Through the trigram index (the only way a search would read a packed partition).
      await client.query('SET enable_seqscan = off');
      const { rows: plan } = await client.query(`EXPLAIN SELECT r.id FROM ${UNPACKED(packed)} WHERE logs_msgs_text(b.messages) ILIKE '%abc%'`);
      expect(plan.map((p) => p['QUERY PLAN']).join('\n')).toContain(`${packed}_trgm`);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 4 }), async (letters) => {
          const q = letters.join('');
          const { rows: got } = await client.query(
            `SELECT r.id FROM ${UNPACKED(packed)} WHERE logs_msgs_text(b.messages) ILIKE $1 AND strpos(lower(r.message), lower($2)) > 0 ORDER BY r.id`,
            [likePattern(q), q],
          );
          const { rows: want } = await client.query(`SELECT id FROM ${part} WHERE strpos(lower(message), lower($1)) > 0 ORDER BY id`, [q]);
          expect(got).toEqual(want);
        }),
        { numRuns: 60 },
      );
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });

  it('its search (migration 019) returns exactly the rows lower(message) LIKE returns, for random words', async () => {
    const packed = `${part}_packed`;
    const want = async (q: string) =>
      (await t.pool.query(`SELECT id FROM ${part} WHERE lower(message) LIKE lower($1) ORDER BY id`, [likePattern(q)])).rows;
    const got = async (q: string) => (await t.pool.query(SEARCH(packed), [q])).rows;
    // The regex batch test goes through the trigram index.
    const client = await t.pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const { rows: a } = await client.query(`SELECT re, 'xAb\u212a' ~ re AS kelvin, 'ABK' ~ re AS upper, 'abc' ~ re AS other FROM logs_pack_search_args('abk')`);
      expect(a[0]).toMatchObject({ kelvin: true, upper: true, other: false });
      const { rows: plan } = await client.query(`EXPLAIN SELECT b.id_from FROM ${packed} b WHERE logs_msgs_text(b.messages) ~ $1`.replace('$1', client.escapeLiteral(a[0].re)));
      expect(plan.map((p) => p['QUERY PLAN']).join('\n')).toContain(`${packed}_trgm`);
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
    // Words from the alphabet, and words taken from the messages (found, often more than once in a row).
    const { rows: msgs } = await t.pool.query<{ message: string }>(`SELECT message FROM ${part} ORDER BY id`);
    const fromMessages = fc.tuple(fc.nat(ROWS - 1), fc.nat(20), fc.integer({ min: 1, max: 6 })).map(([i, at, n]) => msgs[i]!.message.slice(at, at + n));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 4 }).map((l) => l.join('')), fromMessages), async (q) => {
        expect(await got(q)).toEqual(await want(q));
      }),
      { numRuns: 150 },
    );
    // Across two rows of the joined text (the end of one message, the newline between them, the start of the next):
    // not a match unless a message holds it; across a batch boundary too (rows 100 and 101).
    for (const i of [5, 99, 100, 200]) {
      const q = `${msgs[i]!.message.slice(-3)}\n${msgs[i + 1]!.message.slice(0, 3)}`;
      expect(await got(q)).toEqual(await want(q));
    }
    // K and İ are lowered to k and i: q=k finds a message holding only K; a repeated match is one row.
    expect((await got('k')).length).toBeGreaterThan(0);
    expect(await got('\u212a')).toEqual(await want('k'));
    expect(await got('İ')).toEqual(await want('i'));
    const twice = msgs.findIndex((m) => m.message.toLowerCase().split('ab').length > 2);
    expect(twice).toBeGreaterThanOrEqual(0);
    expect(await got('ab')).toEqual(await want('ab'));
  });

  it('its level and service summaries find the batches of every row of a service and level', async () => {
    const packed = `${part}_packed`;
    for (const service of ['api', 'web', 'auth', 'none']) {
      for (const level of [10, 40, 50, 60]) {
        const { rows: got } = await t.pool.query(
          `SELECT r.id FROM ${UNPACKED(packed)} WHERE b.service_set @> ARRAY[$1] AND b.level_mask >= (1 << ($2::int / 10)) AND r.service = $1 AND r.level >= $2 ORDER BY r.id`,
          [service, level],
        );
        const { rows: want } = await t.pool.query(`SELECT id FROM ${part} WHERE service = $1 AND level >= $2 ORDER BY id`, [service, level]);
        expect(got).toEqual(want);
      }
    }
  });

  it('its event-id index finds an event by id', async () => {
    const packed = `${part}_packed`;
    const { rows: sample } = await t.pool.query<{ event_id: string; id: string }>(`SELECT event_id, id FROM ${part} WHERE event_id IS NOT NULL ORDER BY id OFFSET 123 LIMIT 1`);
    const client = await t.pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const sql = `SELECT r.id FROM ${UNPACKED(packed)} WHERE logs_eid_keys(b.event_ids) @> ARRAY[logs_eid_key($1)] AND r.event_id = $1`;
      const { rows: plan } = await client.query(`EXPLAIN ${sql.replace(/\$1/g, `'${sample[0]!.event_id}'::uuid`)}`);
      expect(plan.map((p) => p['QUERY PLAN']).join('\n')).toContain(`${packed}_eid`);
      expect((await client.query(sql, [sample[0]!.event_id])).rows).toEqual([{ id: sample[0]!.id }]);
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });

  it('a build replaces an earlier copy, and a build that does not commit leaves none', async () => {
    const packed = `${part}_packed`;
    const { rows } = await t.pool.query(`SELECT rows::int, batches::int FROM logs_pack_build($1, 1000)`, [part]);
    expect(rows[0]).toEqual({ rows: ROWS, batches: 1 });
    await t.pool.query(`DROP TABLE ${packed}`);
    const client = await t.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT logs_pack_build($1)`, [part]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect((await t.pool.query(`SELECT to_regclass($1) AS r`, [packed])).rows[0].r).toBeNull();
  });

  it('retention drops the packed copy with its partition', async () => {
    const packed = `${part}_packed`;
    await t.pool.query(`SELECT logs_pack_build($1)`, [part]);
    await t.pool.query(`SELECT logs_drop_partition($1, 'retention')`, [part]);
    const { rows } = await t.pool.query(`SELECT to_regclass($1) AS p, to_regclass($2) AS c, (SELECT rows::int FROM logs_dropped WHERE name = $1) AS n`, [part, packed]);
    expect(rows[0]).toEqual({ p: null, c: null, n: ROWS });
  });
});
