// Writing a validated batch to Redis so that an error answer means nothing of the batch was stored (issue 11
// point 1). On d804265, 16 concurrent POST /send of 10,000 events got 503 from the client's 2 s command timeout
// while Redis stored the batches anyway, and clients that resent them stored them twice (2 of 418 requests got
// 202; every other batch was stored at least once more). Here:
// - overload is refused before anything is sent: while MAX_INFLIGHT_BYTES of events are written and not yet
//   answered, a further batch gets 503 `unavailable` with Retry-After (nothing stored, safe to resend);
// - a batch that was sent is answered from Redis's reply, with no client-side timeout racing it;
// - when Redis answers nothing for REDIS_REPLY_TIMEOUT_MS while batches wait, or the connection drops after a
//   batch was sent, nobody knows whether Redis ran it: the answer says so (503 `outcome_unknown`) and the
//   connection is reset, so that the next batches are refused up front (`unavailable`) until Redis is back.
import type { Redis } from 'ioredis';
import { HttpError, unavailable } from '@logstream/shared/errors.js';
import type { Logger } from '@logstream/shared/logger.js';
import { IDEMPOTENCY_WINDOW_S, withXaddBatch } from './publish-events.js';

export interface BatchWriterOptions {
  replyTimeoutMs: number;
  maxInFlightBytes: number;
}

export interface BatchWriter {
  /**
   * XADD the serialized events in one script call; resolves with their stream ids, or rejects with an HttpError.
   * With `marker` (an Idempotency-Key request), only when the marker is not there yet: an empty array says it was.
   */
  write(stream: string, payloads: readonly string[], marker?: string): Promise<string[]>;
  /** Batches sent and not yet answered, and their bytes. */
  inFlight(): { batches: number; bytes: number };
}

export const outcomeUnknown = (why: string) =>
  new HttpError(
    503,
    'outcome_unknown',
    `${why} after the batch was sent: it may or may not be stored. Resend it with the same Idempotency-Key header ` +
      '(send one with every request) and it is stored once; resent without one it may be stored twice',
    undefined,
    { 'Retry-After': '2' },
  );

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** How often the wait for Redis is checked; a check that comes late (the producer was busy) counts at most twice this. */
const TICK_MS = 250;

export function createBatchWriter(redis: Redis, opts: BatchWriterOptions, log: Logger): BatchWriter {
  /** Settle functions of the batches sent and not answered; a lost connection settles them all as unknown. */
  const pending = new Set<(err: HttpError) => void>();
  let bytesInFlight = 0;
  /** Batches answered so far (any reply, even an error): Redis is alive while this moves. */
  let answered = 0;
  let watchdog: NodeJS.Timeout | undefined;

  redis.on('close', () => {
    for (const settle of [...pending]) settle(outcomeUnknown('the connection to Redis was lost'));
  });

  /**
   * Redis answers in order on one connection, so the wait that matters is how long it has answered nothing while
   * batches wait. Only time the producer was free to read counts: Node runs due timers before it reads sockets,
   * and a producer busy parsing other requests would otherwise blame Redis for replies it had not read yet.
   */
  function watch(): void {
    if (watchdog) return;
    let silentMs = 0;
    let seen = answered;
    let last = Date.now();
    const tick = () => {
      // Look after one round of I/O, so that replies that arrived while this timer was due are read first.
      setImmediate(() => {
        const now = Date.now();
        if (answered !== seen) silentMs = 0;
        else silentMs += Math.min(now - last, 2 * TICK_MS);
        seen = answered;
        last = now;
        if (pending.size === 0) {
          watchdog = undefined;
          return;
        }
        if (silentMs >= opts.replyTimeoutMs) {
          log.warn({ timeoutMs: opts.replyTimeoutMs, batches: pending.size, bytes: bytesInFlight }, 'Redis answered nothing in time; resetting the connection');
          const why = outcomeUnknown(`Redis answered nothing for ${opts.replyTimeoutMs} ms (REDIS_REPLY_TIMEOUT_MS)`);
          for (const settle of [...pending]) settle(why);
          // New batches are refused (`unavailable`, nothing sent) until the connection is ready again.
          redis.disconnect(true);
          watchdog = undefined;
          return;
        }
        watchdog = setTimeout(tick, TICK_MS);
      });
    };
    watchdog = setTimeout(tick, TICK_MS);
  }

  return {
    inFlight: () => ({ batches: pending.size, bytes: bytesInFlight }),
    write(stream, payloads, marker) {
      // With no offline queue, a command is written to the socket at once when the connection is ready, and
      // refused without being sent otherwise: checking here first keeps "not sent" and "sent" apart.
      if (redis.status !== 'ready') return Promise.reject(unavailable('Redis is unavailable; nothing was stored; retry shortly', 2));
      let bytes = 0;
      for (const p of payloads) bytes += p.length;
      // One batch is always let through when nothing is in flight, so that a batch over the cap is not refused forever.
      if (pending.size > 0 && bytesInFlight + bytes > opts.maxInFlightBytes) {
        return Promise.reject(
          unavailable(
            `the producer is busy: ${pending.size} batches (${mib(bytesInFlight)}) await Redis's reply, over MAX_INFLIGHT_BYTES ` +
              `(${mib(opts.maxInFlightBytes)}) with this one; nothing was stored; retry after 1 s`,
            1,
          ),
        );
      }
      return new Promise<string[]>((resolve, reject) => {
        let settled = false;
        const finish = (fn: () => void) => {
          if (settled) return;
          settled = true;
          pending.delete(settle);
          bytesInFlight -= bytes;
          fn();
        };
        const settle = (err: HttpError) => finish(() => reject(err));
        pending.add(settle);
        bytesInFlight += bytes;
        watch();
        const scripts = withXaddBatch(redis);
        (marker === undefined ? scripts.xaddBatch(stream, ...payloads) : scripts.xaddBatchOnce(stream, marker, IDEMPOTENCY_WINDOW_S, ...payloads))
          .then(
            (ids) => {
              answered++;
              finish(() => resolve(ids));
            },
            (err: Error) => {
              if (err.name === 'ReplyError') answered++;
              settle(classify(err));
            },
          );
      });
    },
  };
}

function classify(err: Error): HttpError {
  // Redis answered with an error: the script writes nothing then (a writing script over maxmemory is refused before
  // it runs; a wrong key type fails at the first XADD).
  if (err.name === 'ReplyError') return unavailable(`Redis refused the batch (${err.message.slice(0, 200)}); nothing was stored`, 2);
  // ioredis refused to send it: the connection was not writable.
  if (/Stream isn't writeable/i.test(err.message)) return unavailable('Redis is unavailable; nothing was stored; retry shortly', 2);
  return outcomeUnknown(`the connection to Redis failed (${err.message.slice(0, 200)})`);
}
