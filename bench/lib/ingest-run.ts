// One ingest run, shared by the ingest and scale scenarios: `total` events POSTed in batches of 1,000 by a
// separate load generator to a running stack, timed from the first send until the last row is committed (watched
// by counting the rows above the highest id before the run: ids are taken in commit order).
import { startLoad } from './load.js';
import { wallMs } from './load-child.js';
import { pgCpuBetween, pgCpuSnapshot } from './pg-cpu.js';
import { cpuDelta, cpuOf } from './proc.js';
import type { Ctx } from './context.js';
import type { Stack } from './stack.js';
import { round } from './results.js';
import { hasSqlState } from '@logstream/shared/sqlstate.js';

export interface IngestFigures {
  processors: number;
  events: number;
  stored: number;
  /** Rows of this run counted in logs at the end: equal to events when each was stored exactly once. */
  counted: number;
  seconds: number;
  storedPerSec: number;
  acceptedPerSec: number;
  /** Events accepted but not yet stored when the last POST was answered. */
  backlogAtSendEnd: number;
  request: unknown;
  retried503: number;
  errors: number;
  /**
   * CPU seconds per 1,000 events stored, per process group (producer, processors, gateway, postgres backends of
   * the bench database, postgres shared processes, redis, load generator) and their total.
   */
  cpuPer1k: Record<string, number>;
}

interface IngestLoadResult {
  accepted: number;
  t0: number;
  tEnd: number;
  acceptedPerSec: number;
  retried503: number;
  errors: number;
  lastError: string;
  request: unknown;
  cpuSec: number;
  /** CPU of the sending itself, without start-up and body building. */
  sendCpuSec: number;
}

/**
 * Unmeasured events first: a cold producer spent twice the CPU per event of a warm one (JIT), and the first
 * batches also pay for pools and prepared statements.
 */
export async function warmUp(ctx: Ctx, stack: Stack): Promise<void> {
  ctx.log(`  warming up`);
  await ingestRun({ ...ctx, log: () => {} }, stack, ctx.quick ? 5000 : 20_000);
}

/** One run of a load generator: when it started sending, and what it sent. */
export interface LoadRun {
  started: Promise<{ t0: number }>;
  result: Promise<IngestLoadResult>;
}

/** Starts a generator's run of `total` events; by default a new load/ingest.ts POSTing to /send. */
export type IngestLoad = (total: number) => LoadRun;

const forkedSend = (ctx: Ctx, stack: Stack): IngestLoad => (total) => {
  const load = startLoad<IngestLoadResult>('load/ingest.ts', { url: stack.producer!.url, total, batch: 1000, concurrency: 4 }, (t) => ctx.log(`  ${t}`));
  return { started: load.next('started') as unknown as Promise<{ t0: number }>, result: load.result };
};

/**
 * A generator kept up for many runs (load-child.ts serveRuns), for a scenario that makes dozens of short runs:
 * starting one cost 3 s of wall time on the loaded machine.
 */
export function servedLoad(ctx: Ctx, script: string, params: Record<string, unknown>): { load(more?: Record<string, unknown>): IngestLoad; stop(): void } {
  const handle = startLoad<never>(script, { batch: 1000, concurrency: 4, ...params, serve: true }, (t) => ctx.log(`  ${t}`));
  return {
    /** Runs with these parameters over the generator's own (a protocol, say). */
    load: (more) => (total) => {
      handle.send({ type: 'run', params: { ...more, total } });
      return {
        started: handle.next('started') as unknown as Promise<{ t0: number }>,
        result: handle.next('done').then((m) => m.result as IngestLoadResult),
      };
    },
    stop: () => handle.kill(),
  };
}

/**
 * Empties logs (its partitions, and the rollups through their TRUNCATE trigger) so that each run stores into the
 * same empty table: in run1 (13:53 UTC, quiet) stored events/s fell 26k → 20k → 20k over the ingest scenario's
 * three repetitions as the table grew by 100,000 rows each, while the ceiling (a fresh table every time) did not.
 */
/**
 * TRUNCATE logs, again on a deadlock or a lock wait past 2 s: the processors' maintenance at start-up (partitions
 * attached ahead, closed partitions' indexes rebuilt, search chunks) locks partitions and logs in another order, and
 * `npm run bench -- shippers` failed 9 of 22 runs on "deadlock detected" here (17:24-17:39 UTC).
 */
export async function emptyLogs(stack: Stack): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const client = await stack.t.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SET LOCAL lock_timeout = '2s'");
      await client.query('TRUNCATE logs');
      await client.query('COMMIT');
      return;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if (attempt >= 20 || !(hasSqlState(err, 'deadlockDetected') || hasSqlState(err, 'lockNotAvailable'))) throw err;
      await new Promise((r) => setTimeout(r, 250));
    } finally {
      client.release();
    }
  }
}

export async function ingestRun(ctx: Ctx, stack: Stack, total: number, how?: IngestLoad, o: { fresh?: boolean } = {}): Promise<IngestFigures> {
  const processors = stack.processors.length;
  const db = stack.t.pool;
  if (o.fresh ?? true) await emptyLogs(stack);
  // Ids are not dense (they encode their commit second, issue 15) but commit in order: each poll counts only the rows
  // above the highest id it has seen, so that watching costs PostgreSQL little.
  const base = Number((await db.query<{ n: string }>('SELECT coalesce(max(id), 0) AS n FROM logs')).rows[0]!.n);
  let seenUpTo = base;
  let counted = 0;
  const storedSince = async () => {
    const { rows } = await db.query<{ n: number; m: string | null }>('SELECT count(*)::int AS n, max(id) AS m FROM logs WHERE id > $1', [seenUpTo]);
    counted += rows[0]!.n;
    if (rows[0]!.m !== null) seenUpTo = Number(rows[0]!.m);
    return counted;
  };
  const servicePids = () => new Map(stack.services().map((s) => [s.proc.pid!, s.name === 'processor' ? 'processors' : s.name]));
  const pgBefore = await pgCpuSnapshot(db);
  const svcBefore = cpuOf([...servicePids().keys()]);
  const redisBefore = ctx.redisPid ? cpuOf([ctx.redisPid]) : new Map<number, number>();

  const load = (how ?? forkedSend(ctx, stack))(total);
  const { t0 } = await load.started;
  let stored = 0;
  let storedAt = 0;
  let storedAtSendEnd: number | undefined;
  let loadResult: IngestLoadResult | undefined;
  load.result.then((r) => (loadResult = r)).catch(() => {});
  const deadline = Date.now() + Math.max(60_000, total / 200);
  while (Date.now() < deadline) {
    stored = await storedSince();
    storedAt = wallMs();
    if (loadResult && storedAtSendEnd === undefined) storedAtSendEnd = stored;
    if (loadResult && stored >= loadResult.accepted) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const result = loadResult ?? (await load.result);
  const pg = pgCpuBetween(pgBefore, await pgCpuSnapshot(db));
  const svcAfter = cpuOf([...servicePids().keys()]);
  const redisAfter = ctx.redisPid ? cpuOf([ctx.redisPid]) : new Map<number, number>();
  const { rows: countRows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM logs WHERE id > $1', [base]);
  if (countRows[0]!.n !== result.accepted) ctx.log(`  warning: ${countRows[0]!.n} rows stored for ${result.accepted} accepted events`);

  const per1k = (cpu: number) => cpu / (result.accepted / 1000);
  const cpuPer1k: Record<string, number> = {};
  const pidNames = servicePids();
  for (const [pid, cpu] of svcAfter) {
    const name = pidNames.get(pid)!;
    cpuPer1k[name] = (cpuPer1k[name] ?? 0) + per1k(cpu - (svcBefore.get(pid) ?? 0));
  }
  cpuPer1k['postgres backends'] = per1k(pg.bench);
  cpuPer1k['postgres shared'] = per1k(pg.shared);
  cpuPer1k.redis = per1k(cpuDelta(redisBefore, redisAfter));
  cpuPer1k['load generator'] = per1k(result.sendCpuSec);
  cpuPer1k.total = Object.values(cpuPer1k).reduce((a, b) => a + b, 0);
  for (const k of Object.keys(cpuPer1k)) cpuPer1k[k] = round(cpuPer1k[k]!, 4);
  const seconds = (storedAt - t0) / 1000;
  if (result.errors > 0) ctx.log(`  ${result.errors} failed requests; last: ${result.lastError}`);
  return {
    processors,
    events: result.accepted,
    stored,
    counted: countRows[0]!.n,
    seconds: round(seconds, 2),
    storedPerSec: round(stored / seconds, 0),
    acceptedPerSec: round(result.acceptedPerSec, 0),
    backlogAtSendEnd: result.accepted - (storedAtSendEnd ?? stored),
    request: result.request,
    retried503: result.retried503,
    errors: result.errors,
    cpuPer1k,
  };
}
