// `npm run search-index -- status | build`: the search indexes of closed partitions (shared/src/search-index.ts).
// The processors build them in the background anyway; `build` does it now, e.g. after turning SEARCH_INDEX back on.
import { baseShape, loadConfig, storageShape } from '@logstream/shared/config.js';
import { createPool } from '@logstream/shared/db.js';
import { buildNextSearchIndex, searchIndexStates } from '@logstream/shared/search-index.js';

const USAGE = `usage: npm run search-index -- status | build
  status  each partition and its search index (built, pending, invalid: a killed build, rebuilt next)
  build   build the missing ones now, one at a time, CONCURRENTLY (ingest and reads go on)`;

// PACK_AFTER: partitions due for packing get no row index (their rows are packed by the next maintenance pass).
const cfg = loadConfig({ ...baseShape, PARTITION_INTERVAL: storageShape.PARTITION_INTERVAL, PACK_AFTER: storageShape.PACK_AFTER }, 'search-index');
const command = process.argv[2];
if (command !== 'build' && command !== 'status') {
  console.error(command === 'on' || command === 'off' ? `search-index: "${command}" is gone: closed partitions get their index by themselves (SEARCH_INDEX=closed|off)\n${USAGE}` : USAGE);
  process.exit(2);
}
const db = createPool(cfg, { max: 2 });
try {
  if (command === 'build') {
    for (;;) {
      const b = await buildNextSearchIndex(db, { packAfterSeconds: cfg.PACK_AFTER });
      if (!b) break;
      const what = b.compacted
        ? `${b.compacted} rebuilt full (fillfactor 100)`
        : b.chunk
          ? `search index chunk of ${b.chunk.rows} rows (seconds ${b.chunk.fromSecond}-${b.chunk.toSecond}, replacing ${b.chunk.replaced.length}) built`
          : 'search index built';
      console.log(`${b.partition}: ${what} in ${b.seconds.toFixed(1)} s${b.rebuilt ? ' (an interrupted build was dropped first)' : ''}`);
    }
  }
  for (const s of await searchIndexStates(db, cfg.PACK_AFTER)) console.log(`${s.partition}  ${s.state}${s.chunks > 0 ? ` + ${s.chunks} chunk(s) of its past` : ''}`);
} catch (err) {
  console.error(`search-index: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await db.end();
}
