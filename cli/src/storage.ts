// `npm run storage -- status [--exact] | maintain`: the partitions of logs (range, rows, bytes, indexes, state; a
// packed one: its copy's bytes and indexes) and what retention dropped; `maintain` runs one maintenance pass now
// (what every processor does each MAINTENANCE_INTERVAL_MS), e.g. after changing RETENTION.
import { baseShape, loadConfig, storageShape } from '@logstream/shared/config.js';
import { createPool } from '@logstream/shared/db.js';
import { maintainStorage, partitionStatus } from '@logstream/shared/storage.js';

const USAGE = `usage: npm run storage -- status [--exact] | maintain
  status    list the partitions of logs: id range, time range, rows (estimate; --exact counts), bytes, indexes, state
  maintain  create partitions ahead, close finished ones, apply RETENTION / RETENTION_MAX_BYTES / ROLLUP_RETENTION,
            pack the oldest partition due by PACK_AFTER, now`;

const cfg = loadConfig({ ...baseShape, ...storageShape }, 'storage');
const [command, ...flags] = process.argv.slice(2);
if (command !== 'status' && command !== 'maintain') {
  console.error(USAGE);
  process.exit(2);
}
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const time = (d: Date | null) => (d ? d.toISOString().replace('.000Z', 'Z') : '(before partitioning)');
const db = createPool(cfg, { max: 1 });
try {
  if (command === 'maintain') {
    const r = await maintainStorage(db, cfg);
    const p = r.pack && 'packed' in r.pack ? r.pack.packed : undefined;
    const packed = p
      ? `${p.partition} (${p.rows.toLocaleString('en')} rows, ${mib(p.bytesBefore)} → ${mib(p.bytesAfter)}, build ${p.buildSeconds.toFixed(1)} s, swap ${(p.swapSeconds * 1000).toFixed(0)} ms)`
      : r.pack && 'retry' in r.pack ? `none (${r.pack.reason}; retried next pass)` : 'none';
    console.log(`created: ${r.created.join(', ') || 'none'}; closed: ${r.closed.join(', ') || 'none'}; dropped: ${r.dropped.join(', ') || 'none'}; rollup rows deleted: ${r.rollupRowsDeleted}; packed: ${packed}`);
  }
  const exact = flags.includes('--exact');
  const parts = await partitionStatus(db, exact);
  const lines = [['partition', 'state', 'from', 'to', 'ids', 'rows', 'bytes', 'indexes']];
  for (const p of parts) {
    lines.push([p.name, p.state, time(p.timeFrom), time(p.timeTo), `${p.idFrom ?? ''}..${p.idTo - 1}`, `${exact || p.state === 'packed' ? '' : '~'}${p.rows.toLocaleString('en')}`, mib(p.bytes), p.indexes.join(' ')]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const l of lines) console.log(l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
  const total = parts.reduce((a, p) => a + p.bytes, 0);
  console.log(`${parts.length} partitions, ${mib(total)}; PARTITION_INTERVAL ${cfg.PARTITION_INTERVAL} s, RETENTION ${cfg.RETENTION ? `${cfg.RETENTION} s` : 'off'}${cfg.RETENTION_MAX_BYTES ? `, RETENTION_MAX_BYTES ${cfg.RETENTION_MAX_BYTES}` : ''}, ROLLUP_RETENTION ${cfg.ROLLUP_RETENTION ? `${cfg.ROLLUP_RETENTION} s` : 'off'}, PACK_AFTER ${cfg.PACK_AFTER ? `${cfg.PACK_AFTER} s` : 'off'}`);
  const { rows: dropped } = await db.query(`SELECT name, time_from, time_to, rows, bytes, reason, dropped_at FROM logs_dropped ORDER BY id_from DESC LIMIT 10`);
  for (const d of dropped) console.log(`dropped ${d.name} (${time(d.time_from)} .. ${time(d.time_to)}): ${Number(d.rows).toLocaleString('en')} rows, ${mib(Number(d.bytes))}, by ${d.reason} at ${time(d.dropped_at)}`);
} catch (err) {
  console.error(`storage: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await db.end();
}
