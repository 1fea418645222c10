// scale: the ingest run with 1, 2 and 4 processors, each repeated with the PostgreSQL ceiling measured next to it;
// ratios to that ceiling and to 1 processor (repetition i of N processors against repetition i of 1), and where
// the CPU goes (seconds per 1,000 events stored, per process group, bench/lib/proc.ts). On 2 cores the table
// is flat by nature; it is reported as it is.
import { pgCeiling } from '../baselines/ceiling.js';
import type { Scenario } from '../lib/context.js';
import { ingestRun, warmUp, type IngestFigures } from '../lib/ingest-run.js';
import { fmt, ratioRow, type RatioRow, type Row } from '../lib/results.js';
import { startStack } from '../lib/stack.js';
import { bracketed, meanBy, MIN_REPETITIONS, repeat, spread } from '../lib/stats.js';

const COUNTS = [1, 2, 4];

export const scale: Scenario = async (ctx) => {
  const total = ctx.quick ? 10_000 : 40_000;
  const runs: Record<number, { pipeline: IngestFigures; ceilingPerSec: number }[]> = {};
  // One stack; processors are added between counts (1 → 2 → 4), which spares restarting the other services.
  const stack = await startStack('scale', { producer: true, gateway: true, processors: 1, profileDir: ctx.profileDir });
  try {
    await warmUp(ctx, stack);
    for (const processors of COUNTS) {
      if (stack.processors.length < processors) await stack.addProcessors(processors - stack.processors.length);
      // The ceiling right before and after each run, averaged, of half the run's rows (as in the ingest scenario).
      runs[processors] = await repeat(MIN_REPETITIONS, async (i) => {
        const ceiling = async () => (await pgCeiling(stack.t.pool, total / 2, total / 2)).rowsPerSec;
        const { figure: pipeline, baseline: ceilingPerSec } = await bracketed(ceiling, () => ingestRun(ctx, stack, total), meanBy);
        ctx.log(`  ${processors} processor(s), run ${i + 1}: ${Math.round(pipeline.storedPerSec).toLocaleString('en')}/s stored, ceiling ${Math.round(ceilingPerSec).toLocaleString('en')}/s`);
        return { pipeline, ceilingPerSec };
      });
    }
  } finally {
    await stack.stop();
  }
  const ratios: RatioRow[] = [];
  const rows: Row[] = [];
  const stored = (n: number) => ({ name: `events/s stored, ${n} processor${n > 1 ? 's' : ''}`, unit: '/s', values: runs[n]!.map((r) => r.pipeline.storedPerSec) });
  for (const n of COUNTS) {
    ratios.push(
      ratioRow({
        key: `stored-vs-pg-ceiling-${n}`,
        metric: `events/s stored with ${n} processor${n > 1 ? 's' : ''} ÷ PostgreSQL INSERT…SELECT`,
        better: 'higher',
        figure: stored(n),
        baseline: { name: 'PostgreSQL ceiling: rows/s in one INSERT…SELECT', unit: '/s', values: runs[n]!.map((r) => r.ceilingPerSec) },
      }),
    );
    if (n > 1) {
      // Each count's runs are a minute apart from 1 processor's: each as its share of the ceiling measured around
      // it, so that the machine's drift in between cancels (run1, quiet: 2 ÷ 1 read 0.74–1.21× as a plain ratio).
      const share = (k: number) => ({ name: `events/s stored with ${k} processor${k > 1 ? 's' : ''} ÷ the ceiling around it`, unit: '', values: runs[k]!.map((r) => r.pipeline.storedPerSec / r.ceilingPerSec) });
      ratios.push(ratioRow({ key: `stored-${n}-vs-1`, metric: `events/s stored with ${n} processors ÷ with 1 (each against the ceiling measured around it)`, better: 'higher', figure: share(n), baseline: share(1) }));
    }
    // Medians and short labels: every repetition's breakdown is in the JSON figures.
    const cpu = (k: string) => fmt(spread(runs[n]!.map((r) => r.pipeline.cpuPer1k[k]))?.median ?? null);
    const line = `prod ${cpu('producer')} · proc ${cpu('processors')} · gw ${cpu('gateway')} · pg ${cpu('postgres backends')} (+${cpu('postgres shared')}) · redis ${cpu('redis')} · load ${cpu('load generator')} · total ${cpu('total')}`;
    rows.push({ metric: `CPU s per 1,000 events (medians), ${n} processor${n > 1 ? 's' : ''}`, value: line, unit: '', pass: null });
  }
  return { repetitions: MIN_REPETITIONS, ratios, rows, figures: { events: total, runs } };
};
