// node --import tsx bench/diagnostics/small-batch.ts — the PostgreSQL round trips of one live event at the latency
// scenario's rate (1,000 single events/s: the processors store batches of 1-3 rows), interleaved A/B/C so that a
// busy machine weighs on each alike: the processor's store statement for one row (processor/src/store-batch.ts),
// the bare chain's INSERT … pg_notify of one row (bench/baselines/bare-chain.ts), and the gateway's fetch of the
// new row with its JSON (gateway/src/row-json.ts). Medians of 300 rounds each, in its own database.
import { randomUUID } from 'node:crypto';
import { storeRows } from '../../processor/src/store-batch.js';
import { LIVE_COLUMNS_SQL } from '../../gateway/src/row-json.js';
import { LEVEL_VALUES } from '@logstream/shared/levels.js';
import { encodeStreamEvent, streamRowJson } from '@logstream/shared/stream-entry.js';
import { createTestEnv } from '../../test/helpers/test-env.js';
import { benchEvent } from '../lib/payload.js';
import { median } from '../lib/stats.js';

const ROUNDS = 300;
const t = await createTestEnv('bench_small_batch');
try {
  const db = t.pool;
  const client = await db.connect();
  let n = 0;
  const row = () => {
    const i = n++;
    const e = benchEvent(i);
    const now = Date.now();
    return streamRowJson(`${now}-${i}`, encodeStreamEvent({ eid: randomUUID(), message: e.message, level: LEVEL_VALUES[e.level], service: e.service, ts: now, rt: now, attributes: e.attributes }));
  };
  await client.query('CREATE TABLE chain (id bigserial PRIMARY KEY, item text NOT NULL)');
  const chainSql = `WITH i AS (INSERT INTO chain (item) SELECT unnest($1::text[]) RETURNING item) SELECT pg_notify('${t.channel}_chain', string_agg(item, ',')) FROM i`;
  const times: Record<string, number[]> = { 'processor store statement, 1 row': [], 'bare chain INSERT … pg_notify, 1 row': [], 'gateway fetch of the new row with its JSON': [] };
  const [store, chain, fetch] = Object.values(times) as [number[], number[], number[]];
  let head = 0;
  const time = async (into: number[] | undefined, f: () => Promise<unknown>) => {
    const s = performance.now();
    await f();
    into?.push(performance.now() - s);
  };
  for (let i = 0; i < ROUNDS + 20; i++) {
    const warm = i < 20;
    const item = row();
    await time(warm ? undefined : store, () => storeRows(client, `[${item}]`, t.channel));
    await time(warm ? undefined : chain, () => client.query(chainSql, [[item]]));
    await time(warm ? undefined : fetch, async () => {
      const { rows } = await client.query<{ id: string }>(`SELECT ${LIVE_COLUMNS_SQL} FROM logs WHERE id > $1 ORDER BY id LIMIT 1000`, [head]);
      head = Number(rows[rows.length - 1]!.id);
    });
  }
  for (const [name, ms] of Object.entries(times)) console.log(`${name.padEnd(46)} median ${median(ms).toFixed(2)} ms`);
  console.log(`store ÷ bare INSERT … pg_notify: ${(median(store) / median(chain)).toFixed(2)}×`);
  client.release();
} finally {
  await t.cleanup();
}
