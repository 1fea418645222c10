// ingest: sustained POST /send batches of 1,000 ~200-byte events until stored, 2 processors.
// Target (issue 7): events/s stored ≥ 40% of the PostgreSQL ceiling measured in the same run.
import type { Scenario } from '../lib/context.js';
import { ingestRun, warmUp } from '../lib/ingest-run.js';
import { round } from '../lib/results.js';
import { startStack } from '../lib/stack.js';

export const ingestEvents = (quick: boolean) => (quick ? 30_000 : 200_000);

export const ingest: Scenario = async (ctx) => {
  const stack = await startStack('ingest', { producer: true, gateway: true, processors: 2, profileDir: ctx.profileDir });
  const f = await warmUp(ctx, stack)
    .then(() => ingestRun(ctx, stack, ingestEvents(ctx.quick)))
    .finally(() => stack.stop());
  const c = ctx.ceilings;
  const ratio = f.storedPerSec / c.pgInsertPerSec;
  const req = f.request as { p50: number; p99: number };
  return {
    figures: { ...f },
    rows: [
      {
        metric: 'events/s stored (2 processors)',
        value: f.storedPerSec,
        unit: '/s',
        target: '≥ 40% of PG ceiling',
        ceiling: { name: 'PG INSERT…SELECT', value: round(c.pgInsertPerSec, 0) },
        ratio,
        pass: ratio >= 0.4,
        note: `${round((f.storedPerSec / c.pgInsert1kPerSec) * 100, 0)}% of 1,000-row INSERT…SELECT statements (${Math.round(c.pgInsert1kPerSec)}/s)`,
      },
      {
        metric: 'events/s accepted by the producer',
        value: f.acceptedPerSec,
        unit: '/s',
        ceiling: { name: 'pipelined XADD', value: round(c.xaddPerSec, 0) },
        ratio: f.acceptedPerSec / c.xaddPerSec,
        pass: null,
      },
      { metric: 'POST /send of 1,000 events, p50 / p99', value: `${req.p50} / ${req.p99} ms`, unit: '', pass: null },
    ],
  };
};
