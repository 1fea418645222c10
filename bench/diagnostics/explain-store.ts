// node --import tsx bench/diagnostics/explain-store.ts — where the time of one 1,000-row batch goes inside PostgreSQL:
// EXPLAIN (ANALYZE, BUFFERS) of the processor's store statement (processor/src/store-batch.ts) on a table that
// already holds 100,000 rows, the JSON decoding alone, and the gateway's per-notification fetch of the same rows.
// Runs in its own database, dropped afterwards.
import { randomUUID } from 'node:crypto';
import { storeRows } from '../../processor/src/store-batch.js';
import { ID_ORDER_LOCK_KEY, STORE_BATCH_SQL } from '../../processor/src/sql/store-batch.js';
import { LIVE_COLUMNS_SQL } from '../../gateway/src/row-json.js';
import { LEVEL_VALUES } from '@logstream/shared/levels.js';
import { encodeStreamEvent, STREAM_ROW_RECORDSET, streamRowJson } from '@logstream/shared/stream-entry.js';
import { createTestEnv } from '../../test/helpers/test-env.js';
import { benchEvent } from '../lib/payload.js';

const t = await createTestEnv('bench_explain');
try {
  const db = t.pool;
  const now = Date.now();
  let n = 0;
  // The rows exactly as a processor hands them over: the producer's JSON with the stream id spliced in.
  const batch = () =>
    `[${Array.from({ length: 1000 }, () => {
      const i = n++;
      const e = benchEvent(i);
      return streamRowJson(`${now}-${i}`, encodeStreamEvent({ eid: randomUUID(), message: e.message, level: LEVEL_VALUES[e.level], service: e.service, ts: now, rt: now, attributes: e.attributes }));
    }).join(',')}]`;
  for (let i = 0; i < 100; i++) await storeRows(db, batch(), t.channel);

  const median = async (name: string, f: () => Promise<unknown>, runs = 21) => {
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const s = performance.now();
      await f();
      ms.push(performance.now() - s);
    }
    ms.sort((a, b) => a - b);
    console.log(`${name.padEnd(58)} median ${ms[runs >> 1]!.toFixed(1)} ms, min ${ms[0]!.toFixed(1)} ms`);
  };
  const batches = Array.from({ length: 21 }, batch);
  let k = 0;
  await median('store statement, 1,000 rows (round trip)', () => storeRows(db, batches[k++]!, t.channel));
  const one = batch();
  await median('json_to_recordset alone, 1,000 rows', () =>
    db.query(`SELECT count(*) FROM json_to_recordset($1::json) AS r(${STREAM_ROW_RECORDSET})`, [one]),
  );
  let after = 0;
  await median('gateway fetch of 1,000 new rows with their JSON', () => db.query(`SELECT ${LIVE_COLUMNS_SQL} FROM logs WHERE id > $1 ORDER BY id LIMIT 1000`, [(after += 1000)]));
  after = 0;
  await median('the same 1,000 rows, ids only', () => db.query(`SELECT id FROM logs WHERE id > $1 ORDER BY id LIMIT 1000`, [(after += 1000)]));

  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query({ text: `EXPLAIN (ANALYZE, BUFFERS) ${STORE_BATCH_SQL}`, values: [batch(), ID_ORDER_LOCK_KEY, t.channel] });
    await client.query('ROLLBACK');
    console.log('\nEXPLAIN (ANALYZE, BUFFERS) of the store statement, 1,000 rows:');
    console.log(rows.map((r: Record<string, string>) => `  ${r['QUERY PLAN']}`).join('\n'));
  } finally {
    client.release();
  }
} finally {
  await t.cleanup();
}
