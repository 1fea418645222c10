// The maintenance loop every processor runs (issue 15): partitions ahead of time, retention, packing of old closed
// partitions (one a pass: shared/src/pack.ts), rollup ageing, and the storage gauges. Safe with any number of processors: the SQL functions serialize on an advisory lock and each pass
// is idempotent. A failed pass is logged and retried on the next tick; ingest does not depend on it being on time
// (partitions exist two intervals ahead, and a store that finds none creates it: store-batch.ts). After a pass, the
// search indexes of closed partitions are built in the background, one at a time (shared/src/search-index.ts).
import type pg from 'pg';
import type { Logger } from '@logstream/shared/logger.js';
import { buildNextSearchIndex } from '@logstream/shared/search-index.js';
import { maintainStorage, storageTotals, type StorageSettings } from '@logstream/shared/storage.js';
import type { ProcessorMetrics } from './metrics.js';

export class StorageMaintenance {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private indexing: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly db: pg.Pool,
    private readonly settings: StorageSettings & { MAINTENANCE_INTERVAL_MS: number; SEARCH_INDEX: 'closed' | 'off' },
    private readonly log: Logger,
    private readonly metrics: ProcessorMetrics,
  ) {}

  /** One pass now, then every interval. Not awaited by start-up: a pass may wait for another processor's. */
  start(): void {
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.settings.MAINTENANCE_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    // A build under way is cancelled (its INVALID index is rebuilt by the next processor's pass; a pack's build is
    // rolled back and done again), not waited for.
    this.stopping.abort();
    await Promise.all([this.running, this.indexing]);
  }

  runOnce(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    try {
      const r = await maintainStorage(this.db, this.settings, { signal: this.stopping.signal });
      if (r.created.length > 0) this.log.info({ partitions: r.created }, 'created partitions ahead of time');
      if (r.closed.length > 0) this.log.info({ partitions: r.closed }, 'closed partitions');
      if (r.dropped.length > 0) {
        this.metrics.partitionsDropped.inc(r.dropped.length);
        this.log.info({ partitions: r.dropped }, 'dropped partitions (retention)');
      }
      if (r.pack && 'packed' in r.pack) {
        const p = r.pack.packed;
        this.metrics.partitionsPacked.inc();
        const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
        this.log.info(
          { partition: p.partition, rows: p.rows, bytesBefore: p.bytesBefore, bytesAfter: p.bytesAfter, buildSeconds: round(p.buildSeconds, 1), swapSeconds: round(p.swapSeconds, 3), resumed: p.resumed },
          `packed a partition: ${p.rows} rows, ${p.bytesBefore} → ${p.bytesAfter} bytes`,
        );
      } else if (r.pack) this.log.warn({ partition: r.pack.retry, err: r.pack.reason }, 'packing: swap not done; retrying on the next pass');
      if (r.rollupRowsDeleted > 0) this.log.debug({ rows: r.rollupRowsDeleted }, 'aged out rollup rows');
      const totals = await storageTotals(this.db);
      this.metrics.storageBytes.set(totals.bytes);
      this.metrics.partitions.set(totals.partitions);
    } catch (err) {
      if (!this.stopping.signal.aborted) this.log.warn({ err: (err as Error).message }, 'storage maintenance failed; retrying on the next tick');
    }
    if (this.settings.SEARCH_INDEX !== 'off' && !this.stopping.signal.aborted) {
      this.indexing ??= this.buildSearchIndexes().finally(() => {
        this.indexing = undefined;
      });
    }
  }

  /** Closed partitions' search indexes, newest first, until none is missing (or another processor builds them). */
  private async buildSearchIndexes(): Promise<void> {
    try {
      while (!this.stopping.signal.aborted) {
        const b = await buildNextSearchIndex(this.db, { signal: this.stopping.signal, packAfterSeconds: this.settings.PACK_AFTER });
        if (!b) return;
        const seconds = Math.round(b.seconds * 10) / 10;
        if (b.chunk) {
          this.log.info({ partition: b.partition, seconds, rows: b.chunk.rows, replaced: b.chunk.replaced.length }, 'built a search index chunk of the partition being written');
          // One chunk a pass: under a high ingest rate the next one would be due at once, and a build takes a core.
          return;
        }
        if (b.compacted) this.log.info({ partition: b.partition, index: b.compacted, seconds }, 'rebuilt an index of a closed partition full');
        else this.log.info({ partition: b.partition, seconds, rebuilt: b.rebuilt }, 'built the search index of a closed partition');
      }
    } catch (err) {
      if (!this.stopping.signal.aborted) this.log.warn({ err: (err as Error).message }, 'search index build failed; retrying on the next tick');
    }
  }
}
