// scale: the ingest run with 1, 2 and 4 processors, and where the CPU goes (seconds per 1,000 events stored,
// per process group, from /proc/<pid>/stat). On 2 cores the table is flat by nature; it is reported as it is.
import type { Scenario } from '../lib/context.js';
import { ingestRun, warmUp, type IngestFigures } from '../lib/ingest-run.js';
import { round, type Row } from '../lib/results.js';
import { startStack } from '../lib/stack.js';

export const scale: Scenario = async (ctx) => {
  const total = ctx.quick ? 15_000 : 60_000;
  const runs: IngestFigures[] = [];
  const rows: Row[] = [];
  // One stack; processors are added between runs (1 → 2 → 4), which spares restarting the other services.
  const stack = await startStack('scale', { producer: true, gateway: true, processors: 1, profileDir: ctx.profileDir });
  try {
    await warmUp(ctx, stack);
    for (const processors of [1, 2, 4]) {
      if (stack.processors.length < processors) await stack.addProcessors(processors - stack.processors.length);
      ctx.log(`${processors} processor(s)`);
      const f = await ingestRun(ctx, stack, total);
      runs.push(f);
      rows.push({
        metric: `events/s stored, ${processors} processor${processors > 1 ? 's' : ''}`,
        value: f.storedPerSec,
        unit: '/s',
        ceiling: { name: 'PG INSERT…SELECT', value: round(ctx.ceilings.pgInsertPerSec, 0) },
        ratio: f.storedPerSec / ctx.ceilings.pgInsertPerSec,
        pass: null,
      });
      const c = f.cpuPer1k;
      const x = (v: number | undefined) => (v ?? 0).toFixed(3);
      // Short labels: the full breakdown is in the JSON figures.
      const cpu = `prod ${x(c.producer)} · proc ${x(c.processors)} · gw ${x(c.gateway)} · pg ${x(c['postgres (bench backends)'])} (+${x(c['postgres (other processes)'])}) · redis ${x(c.redis)} · load ${x(c['load generator'])}`;
      rows.push({ metric: `CPU s per 1,000 events, ${processors} processor${processors > 1 ? 's' : ''}`, value: cpu, unit: '', pass: null });
    }
  } finally {
    await stack.stop();
  }
  return { figures: { events: total, runs }, rows };
};
