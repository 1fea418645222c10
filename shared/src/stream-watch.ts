// Loss that cannot be prevented is reported (issue 11 point 8): a Redis restarted without persistence (or a
// FLUSHALL, a DEL, an older snapshot restored) takes the stream's unprocessed backlog with it. Before, the only
// trace was one "consumer group missing; recreating it" warning. Every producer and processor watches the stream
// and reports a reset loudly: an error log line, logstream_stream_reset_total, and the /ready detail.
import type { Redis } from 'ioredis';
import type { Logger } from './logger.js';
import { prom } from './metrics.js';
import { replyToMap } from './redis.js';

/** How often the stream is looked at (one XINFO STREAM): a reset is reported within about this long. */
export const STREAM_WATCH_INTERVAL_MS = 1_000;

export interface StreamReset {
  at: string;
  reason: string;
}

/** `a` < `b` for stream ids ("ms-seq"). */
export function idBelow(a: string, b: string): boolean {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  return am < bm || (am === bm && as < bs);
}

interface Seen {
  /** XINFO STREAM entries-added (Redis ≥ 7.0): every entry ever added; it only falls when the stream was recreated. */
  entriesAdded: number;
  /** The highest id known to exist: the stream's last-generated-id, or an id this process read (noteId). */
  lastId: string;
  groups: number;
}

export class StreamWatch {
  private seen: Seen | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly counter: prom.Counter;
  /** Resets seen since start, and the latest, for /ready. */
  resets = 0;
  last: StreamReset | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly stream: string,
    private readonly log: Logger,
    registry: prom.Registry,
  ) {
    this.counter = new prom.Counter({
      name: 'logstream_stream_reset_total',
      help: 'Times the Redis stream or its consumer group vanished or went backwards (entries not yet stored were lost)',
      registers: [registry],
    });
  }

  start(intervalMs = STREAM_WATCH_INTERVAL_MS): this {
    const tick = async () => {
      if (this.redis.status === 'ready') await this.check().catch(() => {});
      this.timer = setTimeout(tick, intervalMs);
    };
    this.timer = setTimeout(tick, 0);
    return this;
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** An id this process read or wrote: the stream's last id may not fall below it. */
  noteId(id: string): void {
    if (this.seen && idBelow(this.seen.lastId, id)) this.seen.lastId = id;
  }

  /** Compare the stream with what was seen before; report when it vanished or went backwards. */
  async check(): Promise<void> {
    let info: Map<string, unknown> | undefined;
    try {
      info = replyToMap((await this.redis.xinfo('STREAM', this.stream)) as unknown[]);
    } catch (err) {
      if (!/no such key/i.test((err as Error).message)) throw err;
    }
    const now: Seen = info
      ? { entriesAdded: Number(info.get('entries-added') ?? 0), lastId: String(info.get('last-generated-id') ?? '0-0'), groups: Number(info.get('groups') ?? 0) }
      : { entriesAdded: 0, lastId: '0-0', groups: 0 };
    const before = this.seen;
    this.seen = now;
    if (!before) return;
    if (!info && before.entriesAdded > 0) {
      this.report(`stream ${this.stream} vanished (it had ${before.entriesAdded} entries added, up to ${before.lastId})`);
    } else if (now.entriesAdded < before.entriesAdded) {
      this.report(`stream ${this.stream} went backwards: entries-added fell from ${before.entriesAdded} to ${now.entriesAdded}`);
    } else if (idBelow(now.lastId, before.lastId)) {
      this.report(`stream ${this.stream} went backwards: its last id ${now.lastId} is below ${before.lastId}, seen before`);
    } else if (now.groups < before.groups) {
      this.report(`stream ${this.stream} lost a consumer group (${before.groups} before, ${now.groups} now)`);
    }
  }

  /**
   * Report a reset found elsewhere (the processor's NOGROUP): first look at the stream, which may explain it, and
   * count it once when the watch already reported one within the last 10 s (the same reset seen two ways).
   */
  async reportUnlessSeen(reason: string): Promise<void> {
    const before = this.resets;
    await this.check().catch(() => {});
    if (this.resets > before) return;
    if (this.last && Date.now() - Date.parse(this.last.at) < 10_000) return;
    this.report(reason);
  }

  report(reason: string): void {
    this.resets++;
    this.last = { at: new Date().toISOString(), reason };
    this.counter.inc();
    this.log.error(
      { stream: this.stream, reason, resets: this.resets },
      `stream reset: ${reason}; entries that were in it and not yet stored are lost (Redis restarted without persistence, or the stream was deleted)`,
    );
  }

  /** The /ready detail: null until a reset was seen. */
  detail(): { stream_resets: number; last_stream_reset: StreamReset | null } {
    return { stream_resets: this.resets, last_stream_reset: this.last ?? null };
  }
}
