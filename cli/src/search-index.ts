// `npm run search-index -- on | off | status`: the optional trigram index that makes `q` searches fast on large
// tables at the cost of slower inserts (see shared/src/search-index.ts for the figures).
import { baseShape, loadConfig } from '@logstream/shared/config.js';
import { createPool } from '@logstream/shared/db.js';
import { disableSearchIndex, enableSearchIndex, searchIndexEnabled } from '@logstream/shared/search-index.js';

const USAGE = `usage: npm run search-index -- on | off | status
  on      build the trigram index on logs.message (CONCURRENTLY: ingest continues; minutes on large tables)
  off     drop it (inserts get faster again; q searches scan rows)
  status  say whether it exists`;

const cfg = loadConfig(baseShape, 'search-index');
const command = process.argv[2];
if (command !== 'on' && command !== 'off' && command !== 'status') {
  console.error(USAGE);
  process.exit(2);
}
const db = createPool(cfg, { max: 1 });
try {
  const before = await searchIndexEnabled(db);
  if (command === 'status') {
    console.log(`search index: ${before ? 'on' : 'off'}`);
  } else if (command === 'on') {
    if (before) console.log('search index is already on');
    else {
      const { rows } = await db.query(`SELECT count(*)::bigint AS n FROM logs`);
      console.log(`building the trigram index over ${Number(rows[0].n).toLocaleString('en')} rows (ingest continues meanwhile)…`);
      const start = Date.now();
      await enableSearchIndex(db);
      console.log(`search index on (${((Date.now() - start) / 1000).toFixed(1)} s)`);
    }
  } else {
    await disableSearchIndex(db);
    console.log(before ? 'search index dropped' : 'search index was already off');
  }
} catch (err) {
  console.error(`search-index: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await db.end();
}
