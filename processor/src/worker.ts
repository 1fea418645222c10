// The processor loop: read a batch → store it (one statement) → XACK; reclaim what dead consumers left pending;
// isolate poison entries; on stop, finish the batch in hand, ack it, and return.
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { isConnectionError } from '@logstream/shared/errors.js';
import type { Logger } from '@logstream/shared/logger.js';
import { Backoff, SERVICE_RECONNECT } from '@logstream/shared/backoff.js';
import { streamKeys } from '@logstream/shared/keys.js';
import type { StreamWatch } from '@logstream/shared/stream-watch.js';
import type { ProcessorConfig } from './config.js';
import { ensureGroup, isNoGroupError } from './consumer-group.js';
import { deadLetter, type DeadLetter } from './dead-letter.js';
import type { ProcessorMetrics } from './metrics.js';
import { deliveryCounts, readNew, reclaimIdle } from './read-batch.js';
import { BATCH_MAX_BYTES, entryChars, MAX_ENTRY_CHARS, nextReadCount, splitByBytes } from './batch-bytes.js';
import { isSplittableError, storeRows } from './store-batch.js';
import { entryRow, isProducerEntry, producerEntryProblem, type Entry } from './stream-entries.js';
import { streamIdentity } from './stream-identity.js';
import { retireIdleConsumers } from './retire-consumers.js';
import { trimAcknowledged } from './trim-stream.js';

export interface WorkerDeps {
  cfg: ProcessorConfig;
  consumer: string;
  /** Blocking connection for XREADGROUP BLOCK. */
  reader: Redis;
  /** Connection for acks, claims and the DLQ. */
  redis: Redis;
  db: pg.Pool;
  log: Logger;
  metrics: ProcessorMetrics;
  /** Reports a stream or group that vanished or went backwards (issue 11 point 8). */
  watch?: StreamWatch;
}

const TRIM_INTERVAL_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Worker {
  private stopping = false;
  private loop: Promise<void> | undefined;
  private nextClaimAt = 0;
  private claimCursor = '0-0';
  private nextTrimAt = Date.now() + TRIM_INTERVAL_MS;
  /** COUNT of the next read, adapted to the size of the entries (batch-bytes.ts). */
  private readCount: number;
  /** Last outcome of talking to PostgreSQL, for /ready. */
  dbHealthy = true;
  private readonly keys;
  /** The stream's identity (stream-identity.ts), fetched when the first entry written by another tool needs it. */
  private identity: string | undefined;

  constructor(private readonly d: WorkerDeps) {
    this.keys = streamKeys(d.cfg.REDIS_STREAM);
    this.readCount = d.cfg.BATCH_SIZE;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Finish the batch in hand, ack it, then resolve. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    const { cfg, reader, redis, log } = this.d;
    const backoff = new Backoff(SERVICE_RECONNECT);
    while (!this.stopping) {
      try {
        await ensureGroup(redis, this.keys.stream, cfg.REDIS_GROUP);
        break;
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'cannot create the consumer group yet; retrying');
        await backoff.wait();
      }
    }
    backoff.reset();
    while (!this.stopping) {
      try {
        let entries: Entry[] = [];
        if (Date.now() >= this.nextClaimAt) entries = await this.reclaim();
        if (entries.length === 0) {
          entries = await readNew(reader, this.keys.stream, cfg.REDIS_GROUP, this.d.consumer, this.readCount, cfg.BLOCK_MS);
        }
        if (entries.length > 0) this.d.watch?.noteId(entries[entries.length - 1]!.id);
        // Entries read are ours now: they are handled even when a stop was requested meanwhile.
        if (entries.length > 0) await this.handle(entries);
        if (Date.now() >= this.nextTrimAt) await this.trim();
        backoff.reset();
      } catch (err) {
        if (isNoGroupError(err)) {
          // Redis restarted without the stream (or someone deleted it): recreate the group and carry on.
          log.warn('consumer group missing; recreating it');
          await this.d.watch?.reportUnlessSeen(`consumer group ${cfg.REDIS_GROUP} of stream ${this.keys.stream} vanished (NOGROUP)`);
          this.identity = undefined;
          await ensureGroup(redis, this.keys.stream, cfg.REDIS_GROUP).catch(() => {});
          continue;
        }
        const delay = backoff.next();
        if (backoff.attempts === 1 || backoff.attempts % 20 === 0) log.warn({ err: (err as Error).message, retryInMs: delay }, 'processor loop error; retrying');
        await sleep(delay);
      }
    }
  }

  private async reclaim(): Promise<Entry[]> {
    const { cfg, redis } = this.d;
    const r = await reclaimIdle(redis, this.keys.stream, cfg.REDIS_GROUP, this.d.consumer, cfg.CLAIM_IDLE_MS, this.claimCursor, this.readCount);
    this.claimCursor = r.next;
    // A complete scan waits for the next interval; a partial one continues on the next turn.
    if (r.next === '0-0') this.nextClaimAt = Date.now() + cfg.CLAIM_INTERVAL_MS;
    if (r.entries.length > 0) {
      this.d.metrics.reclaimed.inc(r.entries.length);
      this.d.log.info({ count: r.entries.length }, 'reclaimed entries left pending by another consumer');
    }
    return r.entries;
  }

  /** Store entries and ack them; retries storage (with backoff) while PostgreSQL is unreachable. */
  async handle(entries: Entry[]): Promise<void> {
    const { cfg, redis, log, metrics } = this.d;
    const rows: { entry: Entry; json: string }[] = [];
    const letters: DeadLetter[] = [];
    const gone: string[] = [];
    if (this.identity === undefined && entries.some((e) => e.fields !== null && !isProducerEntry(e.fields))) {
      this.identity = await streamIdentity(redis, this.keys);
    }
    let bytes = 0;
    for (const entry of entries) {
      if (entry.fields === null) {
        gone.push(entry.id);
        continue;
      }
      const chars = entryChars(entry.fields);
      bytes += chars;
      if (chars > MAX_ENTRY_CHARS) {
        letters.push({ entry, reason: `entry of ${chars} characters is over the per-event limit of ${MAX_ENTRY_CHARS} (MAX_EVENT_BYTES)`, deliveries: 1 });
        continue;
      }
      const row = entryRow(entry, this.identity ?? '');
      // Undecodable entries cannot succeed on a retry: dead-letter them at once.
      if (row.ok) rows.push({ entry, json: row.json });
      else letters.push({ entry, reason: `undecodable: ${row.reason}`, deliveries: 1 });
    }
    metrics.batchSize.observe(entries.length);
    metrics.batchBytes.observe(bytes);
    this.readCount = nextReadCount(this.readCount, entries.length, bytes, cfg.BATCH_SIZE);

    // Statements of at most BATCH_MAX_BYTES each (one for an ordinary batch), stored in stream order; a run once
    // stored is not stored again when a later one has to wait for PostgreSQL.
    const outcome: { stored: string[]; poison: { entry: Entry; reason: string }[] } = { stored: [], poison: [] };
    for (const run of splitByBytes(rows, (r) => r.json.length, BATCH_MAX_BYTES)) {
      const backoff = new Backoff(SERVICE_RECONNECT);
      for (;;) {
        try {
          const r = await this.storeIsolating(run);
          outcome.stored.push(...r.stored);
          outcome.poison.push(...r.poison);
          this.dbHealthy = true;
          break;
        } catch (err) {
          this.dbHealthy = false;
          if (this.stopping && backoff.attempts >= 2) throw err; // leave them pending: another processor reclaims them
          const delay = backoff.next();
          if (backoff.attempts === 1 || backoff.attempts % 20 === 0) log.warn({ err: (err as Error).message, retryInMs: delay }, 'cannot store batch; keeping entries pending and retrying');
          await sleep(delay);
        }
      }
    }

    if (outcome.poison.length > 0) {
      const counts = await deliveryCounts(redis, this.keys.stream, cfg.REDIS_GROUP, outcome.poison.map((p) => p.entry.id));
      for (const p of outcome.poison) {
        const deliveries = counts.get(p.entry.id) ?? 1;
        const undecodable = isProducerEntry(p.entry.fields!) ? producerEntryProblem(p.entry.fields!) : undefined;
        if (undecodable) letters.push({ entry: p.entry, reason: `undecodable: ${undecodable}`, deliveries });
        else if (deliveries >= cfg.MAX_DELIVERIES) letters.push({ entry: p.entry, reason: `rejected by PostgreSQL: ${p.reason}`, deliveries });
        else log.warn({ id: p.entry.id, deliveries, reason: p.reason }, 'entry rejected by PostgreSQL; left pending for a retry');
      }
    }
    if (letters.length > 0) {
      await deadLetter(redis, this.keys.stream, this.keys.dlq, cfg.REDIS_GROUP, letters);
      metrics.deadLetters.inc(letters.length);
      log.warn({ count: letters.length, first: letters[0]!.reason }, 'moved entries to the dead-letter stream');
    }
    const ack = [...outcome.stored, ...gone];
    if (ack.length > 0) await redis.xack(this.keys.stream, cfg.REDIS_GROUP, ...ack);
  }

  /**
   * Store rows in one statement; when PostgreSQL rejects the batch for its data, or the batch is too big to be one
   * statement (a JSON string past V8's limit, PostgreSQL's program_limit_exceeded), split it in halves until the
   * bad entries are isolated, so the others of the batch are still stored. Connection errors propagate.
   */
  private async storeIsolating(rows: { entry: Entry; json: string }[]): Promise<{ stored: string[]; poison: { entry: Entry; reason: string }[] }> {
    if (rows.length === 0) return { stored: [], poison: [] };
    const { cfg, db, metrics } = this.d;
    const end = metrics.insertDuration.startTimer();
    try {
      const r = await storeRows(db, `[${rows.map((r) => r.json).join(',')}]`, cfg.NOTIFY_CHANNEL);
      end();
      metrics.rowsStored.inc(r.inserted);
      return { stored: rows.map((r) => r.entry.id), poison: [] };
    } catch (err) {
      if (!isSplittableError(err) || isConnectionError(err)) throw err;
      if (rows.length === 1) return { stored: [], poison: [{ entry: rows[0]!.entry, reason: (err as Error).message }] };
      const mid = rows.length >> 1;
      const a = await this.storeIsolating(rows.slice(0, mid));
      const b = await this.storeIsolating(rows.slice(mid));
      return { stored: [...a.stored, ...b.stored], poison: [...a.poison, ...b.poison] };
    }
  }

  private async trim(): Promise<void> {
    this.nextTrimAt = Date.now() + TRIM_INTERVAL_MS;
    try {
      const removed = await trimAcknowledged(this.d.redis, this.keys.stream);
      if (removed > 0) this.d.log.debug({ removed }, 'trimmed acknowledged entries');
      const retired = await retireIdleConsumers(this.d.redis, this.keys.stream, this.d.cfg.REDIS_GROUP, this.d.consumer);
      if (retired.length > 0) this.d.log.info({ retired }, 'removed consumers of dead processors (nothing pending, idle over an hour)');
    } catch (err) {
      this.d.log.debug({ err: (err as Error).message }, 'trim skipped');
    }
  }

  /** Leave the group tidy on a clean exit: drop this consumer when it holds nothing pending. */
  async retire(): Promise<void> {
    const { cfg, redis } = this.d;
    const summary = (await redis.xpending(this.keys.stream, cfg.REDIS_GROUP, '-', '+', 1, this.d.consumer).catch(() => [])) as unknown[];
    if (summary.length === 0) await redis.xgroup('DELCONSUMER', this.keys.stream, cfg.REDIS_GROUP, this.d.consumer).catch(() => {});
  }
}
