// Byte bounds of the processor's batches (issue 11): XREADGROUP has a COUNT but no size limit, so the count of the
// next read is adapted to the entry size seen, and whatever was read is stored in statements of bounded size.
import { MAX_EVENT_BYTES } from '@logstream/shared/event.js';

/**
 * Target size of one read and most a stored statement may hold, 16 MiB of entry JSON: 64 maximal events
 * (MAX_EVENT_BYTES = 256 KiB), or all 1,000 entries of a read of 16 KiB events; ordinary batches (1,000 events of
 * a few hundred bytes, bench ingest) are far below it, so it only ever splits batches of large events.
 */
export const BATCH_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Entries to ask for next: as many as fit BATCH_MAX_BYTES at the average size of the last read, at most
 * `batchSize`. A read that was cut by the count (the stream has more) grows the next at most fourfold, so a stream
 * turning from maximal to small events regains full batches within a few reads; a read of maximal events after
 * small ones is held under batchSize × MAX_EVENT_BYTES (256 MiB at the default BATCH_SIZE, all strings of at most
 * 256 KiB, so never one string over V8's limit) and shrinks the next to 64 entries.
 */
export function nextReadCount(current: number, entries: number, bytes: number, batchSize: number): number {
  if (entries === 0) return current;
  const fit = Math.floor(BATCH_MAX_BYTES / Math.max(1, bytes / entries));
  return Math.max(1, Math.min(batchSize, fit, current * 4));
}

/** Consecutive runs of items whose sizes add up to at most maxBytes (a run holds at least one item). */
export function splitByBytes<T>(items: readonly T[], size: (item: T) => number, maxBytes = BATCH_MAX_BYTES): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item);
    if (run.length > 0 && bytes + n > maxBytes) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(item);
    bytes += n;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Characters of an entry's fields (UTF-16 code units: the bytes of ASCII JSON, a third of them at most otherwise). */
export function entryChars(fields: readonly string[]): number {
  let n = 0;
  for (const f of fields) n += f.length;
  return n;
}

/**
 * Entries larger than this are dead-lettered rather than stored: the producer refuses events over MAX_EVENT_BYTES
 * (413), so only another tool's XADD can write one, and every later stage (pages, frames) counts on rows within
 * the cap. The slack covers field names of entries written field by field.
 */
export const MAX_ENTRY_CHARS = MAX_EVENT_BYTES + 1024;
