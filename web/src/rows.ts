// The tail: rows kept in id order (dedupe by id), rendered newest at the bottom, appended once per animation frame
// so that bursts cost one layout; rows that arrive while paused wait in `pending` (nothing is lost) and the page
// keeps at most MAX_ROWS rows in the DOM (older ones stay reachable by scrolling up: GET /logs?before=).
import type { LogItem } from '@logstream/shared/protocol.js';
import { el, fillMarked, shortTime } from './dom.js';

/** Rows kept in the page. 10,000 rows of DOM stay responsive on a modest laptop; the page says so in its footer. */
export const MAX_ROWS = 10_000;
const FLUSH_INTERVAL_MS = 200;

export class RowList {
  /** Shown rows, ascending id; list.children[i] renders items[i]. */
  private items: LogItem[] = [];
  /** Ids shown or pending: a row received twice (reconnect, replay, dropped fill) is shown once. */
  private readonly ids = new Set<number>();
  /** Rows received while paused, ascending id. */
  pending: LogItem[] = [];
  /** Rows waiting for the next animation frame. */
  private queue: LogItem[] = [];
  private frame = 0;
  private lastFlush = 0;
  private lastFlushCost = 0;
  /** Oldest rows removed to keep MAX_ROWS. */
  trimmed = 0;
  private hl: RegExp | undefined;
  highlighted = 0;

  constructor(
    private readonly list: HTMLOListElement,
    private readonly scroller: HTMLElement,
    private readonly onChange: () => void,
  ) {}

  get size(): number {
    return this.items.length;
  }
  get firstId(): number | undefined {
    return this.items[0]?.id;
  }
  has(id: number): boolean {
    return this.ids.has(id);
  }

  clear(): void {
    this.items = [];
    this.ids.clear();
    this.pending = [];
    this.queue = [];
    this.trimmed = 0;
    this.highlighted = 0;
    this.list.replaceChildren();
    this.onChange();
  }

  /** Keep the fresh ones (not seen before); they are now known. */
  private fresh(items: LogItem[]): LogItem[] {
    const out: LogItem[] = [];
    for (const i of items) {
      if (this.ids.has(i.id)) continue;
      this.ids.add(i.id);
      out.push(i);
    }
    return out;
  }

  /** Live rows: shown on the next frame, or kept in `pending` while paused. Returns the fresh rows. */
  receive(items: LogItem[], paused: boolean): LogItem[] {
    const fresh = this.fresh(items);
    if (fresh.length === 0) return fresh;
    if (paused) {
      insertSorted(this.pending, fresh);
      this.onChange();
    } else {
      this.queue.push(...fresh);
      this.schedule();
    }
    return fresh;
  }

  /** Rows fetched to fill a gap (dropped frames) or for context: inserted in id order wherever they belong. */
  fill(items: LogItem[], paused: boolean): LogItem[] {
    const fresh = this.fresh(items);
    if (fresh.length === 0) return fresh;
    const last = this.items[this.items.length - 1]?.id ?? 0;
    const inside = fresh.filter((i) => i.id < last);
    const after = fresh.filter((i) => i.id >= last);
    for (const i of inside.sort((a, b) => a.id - b.id)) this.insertAt(i);
    if (after.length) {
      if (paused) insertSorted(this.pending, after);
      else {
        this.queue.push(...after);
        this.schedule();
      }
    }
    this.onChange();
    return fresh;
  }

  /**
   * Older rows (history), newest first as /logs returns them: put above the first row, keeping the view still.
   * While paused, the cap holds by moving the newest shown rows back to `pending` (Resume shows them again).
   */
  prepend(newestFirst: LogItem[], paused = false): number {
    const fresh = this.fresh(newestFirst).sort((a, b) => a.id - b.id);
    if (fresh.length === 0) return 0;
    const first = this.items[0]?.id ?? Infinity;
    const above = fresh.filter((i) => i.id < first);
    for (const i of fresh.filter((i) => i.id >= first)) this.insertAt(i);
    const before = this.scroller.scrollHeight;
    const frag = document.createDocumentFragment();
    for (const i of above) frag.append(this.render(i));
    this.list.prepend(frag);
    this.items = above.concat(this.items);
    this.scroller.scrollTop += this.scroller.scrollHeight - before;
    if (paused) this.spillNewest();
    this.onChange();
    return fresh.length;
  }

  private spillNewest(): void {
    const extra = this.items.length - MAX_ROWS;
    if (extra <= 0) return;
    const children = this.list.children;
    const start = this.items.length - extra;
    for (let k = start; k < this.items.length; k++) if (children[k]!.classList.contains('hl')) this.highlighted--;
    const r = document.createRange();
    r.setStartBefore(children[start]!);
    r.setEndAfter(children[this.items.length - 1]!);
    r.deleteContents();
    this.pending = this.items.splice(start, extra).concat(this.pending);
  }

  /** Show everything pending (Resume / jump to latest), trimming to the cap. */
  resume(): void {
    const p = this.pending;
    this.pending = [];
    this.queue.push(...p);
    this.flushQueue();
  }

  /**
   * Render queued rows on an animation frame, at most every FLUSH_INTERVAL_MS: each flush lays out the list once,
   * so a burst costs a few layouts instead of one per frame.
   */
  private schedule(): void {
    if (this.frame) return;
    // Laying out 10,000 rows takes ~200-300 ms on a slow machine: wait at least twice the last flush's cost so
    // that the page keeps two thirds of its time for input however fast rows arrive.
    const wait = Math.max(0, this.lastFlush + Math.max(FLUSH_INTERVAL_MS, 2 * this.lastFlushCost) - performance.now());
    this.frame = window.setTimeout(() => requestAnimationFrame(() => this.flushQueue()), wait);
  }

  private flushQueue(): void {
    clearTimeout(this.frame);
    this.frame = 0;
    this.lastFlush = performance.now();
    if (this.queue.length === 0) return;
    let batch = this.queue.sort((a, b) => a.id - b.id);
    this.queue = [];
    const last = this.items[this.items.length - 1]?.id ?? 0;
    // A row older than the newest shown (a late fill) goes to its place; the rest is one append.
    const late = batch.filter((i) => i.id < last);
    for (const i of late) this.insertAt(i);
    batch = late.length ? batch.filter((i) => i.id >= last) : batch;
    // A burst larger than the cap: render only what would survive the trim.
    if (batch.length > MAX_ROWS) {
      for (const i of batch.slice(0, batch.length - MAX_ROWS)) this.ids.delete(i.id);
      this.trimmed += batch.length - MAX_ROWS;
      batch = batch.slice(batch.length - MAX_ROWS);
    }
    const frag = document.createDocumentFragment();
    for (const i of batch) frag.append(this.render(i));
    this.list.append(frag);
    this.items.push(...batch);
    this.trim();
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.onChange();
    this.lastFlushCost = performance.now() - this.lastFlush;
  }

  /** Drop the oldest rows above the cap (called only while following the tail, so the view does not jump). */
  trim(): void {
    const extra = this.items.length - MAX_ROWS;
    if (extra <= 0) return;
    const children = this.list.children;
    for (let k = 0; k < extra; k++) {
      if (children[k]!.classList.contains('hl')) this.highlighted--;
      this.ids.delete(this.items[k]!.id);
    }
    // One range deletion instead of `extra` removals.
    const r = document.createRange();
    r.setStartBefore(children[0]!);
    r.setEndAfter(children[extra - 1]!);
    r.deleteContents();
    this.items = this.items.slice(extra);
    this.trimmed += extra;
  }

  private insertAt(item: LogItem): void {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.items[mid]!.id < item.id) lo = mid + 1;
      else hi = mid;
    }
    const next = this.list.children[lo] ?? null;
    this.list.insertBefore(this.render(item), next);
    this.items.splice(lo, 0, item);
  }

  private render(item: LogItem): HTMLLIElement {
    const li = el('li', 'row');
    li.dataset.id = String(item.id);
    li.dataset.level = item.level;
    const sum = el('button', 'sum');
    sum.type = 'button';
    sum.setAttribute('aria-expanded', 'false');
    const ts = el('time', 'ts', shortTime(item.timestamp));
    ts.dateTime = item.timestamp;
    const msg = el('span', 'msg');
    if (fillMarked(msg, item.message, this.hl)) {
      li.classList.add('hl');
      this.highlighted++;
    }
    sum.append(ts, el('span', 'lvl', item.level), el('span', 'svc', item.service), msg);
    sum.addEventListener('click', () => this.toggle(li, item));
    li.append(sum);
    return li;
  }

  toggle(li: HTMLLIElement, item: LogItem, open?: boolean): void {
    const sum = li.querySelector('.sum')!;
    const existing = li.querySelector('.details');
    const show = open ?? !existing;
    if (existing) existing.remove();
    sum.setAttribute('aria-expanded', String(show));
    if (!show) return;
    const details = el('div', 'details');
    const dl = el('dl');
    const add = (k: string, v: string) => dl.append(el('dt', '', k), el('dd', '', v));
    add('id', String(item.id));
    add('timestamp', item.timestamp);
    add('received_at', item.received_at);
    add('level', item.level);
    add('service', item.service);
    add('message', item.message);
    for (const [k, v] of Object.entries(item.attributes ?? {})) add(`attributes.${k}`, typeof v === 'string' ? v : JSON.stringify(v));
    const link = el('a', 'permalink', 'Permalink to this row');
    const p = new URLSearchParams(location.search);
    p.set('id', String(item.id));
    link.href = `/ui?${p}`;
    details.append(dl, link);
    li.append(details);
    details.scrollIntoView({ block: 'nearest' });
  }

  /** Open a row (permalink target): expanded, marked and scrolled into view. */
  reveal(id: number): boolean {
    const idx = this.items.findIndex((i) => i.id === id);
    if (idx < 0) return false;
    const li = this.list.children[idx] as HTMLLIElement;
    li.classList.add('target');
    this.toggle(li, this.items[idx]!, true);
    li.scrollIntoView({ block: 'center' });
    (li.querySelector('.sum') as HTMLElement).focus({ preventScroll: true });
    return true;
  }

  /** Mark matches of the highlight box in every shown row (does not filter). */
  setHighlight(re: RegExp | undefined): void {
    this.hl = re;
    this.highlighted = 0;
    const children = this.list.children;
    for (let k = 0; k < this.items.length; k++) {
      const li = children[k] as HTMLElement;
      const found = fillMarked(li.querySelector('.msg') as HTMLElement, this.items[k]!.message, re);
      li.classList.toggle('hl', found);
      if (found) this.highlighted++;
    }
    this.onChange();
  }
}

/** Merge `add` (any order) into `into` (ascending id). */
function insertSorted(into: LogItem[], add: LogItem[]): void {
  const last = into[into.length - 1]?.id ?? 0;
  add.sort((a, b) => a.id - b.id);
  if (add[0]!.id > last) into.push(...add);
  else {
    into.push(...add);
    into.sort((a, b) => a.id - b.id);
  }
}
