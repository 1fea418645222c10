// Analytics panel: a volume histogram stacked by level (SVG, no chart library), counts by level and by service.
// Counts come from GET /stats and then move with the live rows: /stats says which ids it counted (`head`), so each
// row received with a larger id is added exactly once, and a refresh replaces the counts without double counting.
import { LEVELS, type LevelName } from '@logstream/shared/levels.js';
import type { LogItem } from '@logstream/shared/protocol.js';
import type { Stats } from './api.js';
import { el, svg } from './dom.js';

const WIDTH = 1000;
const HEIGHT = 120;
/** Rows remembered to re-apply after a refresh (those newer than the refresh's head). */
const RECENT_ROWS = 20_000;

export interface HistogramEvents {
  /** A bar was chosen: narrow the tail to [from, to). */
  onBar(from: number, to: number): void;
  /** A level was chosen: narrow the tail to that minimum level. */
  onLevel(level: LevelName): void;
  /** A service was chosen: narrow the tail to it. */
  onService(service: string): void;
  /** A live row fell after the last bucket: time to refresh. */
  onStale(): void;
}

interface Row {
  id: number;
  ts: number;
  level: LevelName;
  service: string;
}

export class Histogram {
  private stats: Stats | undefined;
  private from = 0;
  private bucketMs = 0;
  private recent: Row[] = [];
  private focusIndex = -1;

  constructor(
    private readonly chart: SVGSVGElement,
    private readonly levelsEl: HTMLElement,
    private readonly servicesEl: HTMLElement,
    private readonly summaryEl: HTMLElement,
    private readonly events: HistogramEvents,
    private readonly axisEl?: HTMLElement,
    private readonly selectionEl?: HTMLElement,
  ) {
    this.listenForDrag();
  }

  /** A drag was just turned into a range: the click that ends it must not also choose one bar. */
  private dragged = false;

  /**
   * Drag across the bars to choose a time range (issue 16): the range is rounded out to whole bars and shown like
   * a chosen bar ([from, to) in the tail). Under 5 px it is a click on a bar.
   */
  private listenForDrag(): void {
    let startX: number | undefined;
    let moved = false;
    const frac = (clientX: number) => {
      const r = this.chart.getBoundingClientRect();
      return Math.min(1, Math.max(0, (clientX - r.left) / r.width));
    };
    const show = (a: number, b: number) => {
      if (!this.selectionEl) return;
      const w = this.chart.getBoundingClientRect().width;
      this.selectionEl.hidden = false;
      this.selectionEl.style.left = `${Math.min(a, b) * w}px`;
      this.selectionEl.style.width = `${Math.abs(b - a) * w}px`;
    };
    this.chart.addEventListener('pointerdown', (e) => {
      if (e.button !== 0 || !this.stats) return;
      startX = e.clientX;
      moved = false;
    });
    this.chart.addEventListener('pointermove', (e) => {
      if (startX === undefined) return;
      if (!moved && Math.abs(e.clientX - startX) >= 5) {
        moved = true;
        // Captured only once it is a drag: a capture from pointerdown would send a plain click to the chart, not the bar.
        this.chart.setPointerCapture(e.pointerId);
      }
      if (moved) show(frac(startX), frac(e.clientX));
    });
    const end = (e: PointerEvent, cancelled: boolean) => {
      if (startX === undefined) return;
      const a = frac(startX);
      const b = frac(e.clientX);
      startX = undefined;
      if (this.selectionEl) this.selectionEl.hidden = true;
      if (!moved || cancelled || !this.stats) return;
      this.dragged = true;
      window.setTimeout(() => (this.dragged = false), 0);
      const from = this.from;
      const span = Date.parse(this.stats.to) - from;
      const lo = from + Math.floor((Math.min(a, b) * span) / this.bucketMs) * this.bucketMs;
      const hi = from + Math.ceil((Math.max(a, b) * span) / this.bucketMs) * this.bucketMs;
      if (hi > lo) this.events.onBar(lo, hi);
    };
    this.chart.addEventListener('pointerup', (e) => end(e, false));
    this.chart.addEventListener('pointercancel', (e) => end(e, true));
  }

  /** Labelled ticks under the bars at round times (UTC, as the rest of the page), at most about 8. */
  private renderAxis(from: number, to: number): void {
    if (!this.axisEl) return;
    this.axisEl.replaceChildren();
    const span = to - from;
    const m = 60_000;
    const steps = [m, 2 * m, 5 * m, 10 * m, 15 * m, 30 * m, 60 * m, 120 * m, 180 * m, 360 * m, 720 * m, 1440 * m, 2880 * m];
    const step = steps.find((st) => span / st <= 8) ?? steps[steps.length - 1]!;
    for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
      const iso = new Date(t).toISOString();
      const label = step >= 1440 * m || (span > 1440 * m && t % (1440 * m) === 0) ? iso.slice(5, 10) : iso.slice(11, 16);
      const tick = el('span', 'tick', label);
      tick.style.left = `${((t - from) / span) * 100}%`;
      tick.dataset.t = iso;
      this.axisEl.append(tick);
    }
  }

  reset(): void {
    this.stats = undefined;
    this.recent = [];
    this.render();
  }

  /** New counts from /stats; rows received after its head are added back. */
  set(stats: Stats): void {
    this.stats = structuredClone(stats);
    this.from = Date.parse(stats.from);
    this.bucketMs = stats.buckets.length > 1 ? Date.parse(stats.buckets[1]!.start) - this.from : Date.parse(stats.to) - this.from;
    for (const r of this.recent) if (r.id > stats.head) this.count(r);
    this.render();
  }

  /** Rows received by the tail (live, fills, history): each id is passed once. */
  add(items: LogItem[]): void {
    for (const i of items) {
      const r: Row = { id: i.id, ts: Date.parse(i.timestamp), level: i.level, service: i.service };
      this.recent.push(r);
      if (this.stats && r.id > this.stats.head) this.count(r);
    }
    if (this.recent.length > RECENT_ROWS * 1.5) this.recent = this.recent.slice(-RECENT_ROWS);
    this.scheduleRender();
  }

  private count(r: Row): void {
    const s = this.stats!;
    const idx = Math.floor((r.ts - this.from) / this.bucketMs);
    if (idx < 0) return;
    if (idx >= s.buckets.length) {
      this.events.onStale();
      return;
    }
    const b = s.buckets[idx]!;
    b.counts[r.level]++;
    b.total++;
    s.by_level[r.level]++;
    s.by_service[r.service] = (s.by_service[r.service] ?? 0) + 1;
    s.total++;
  }

  private pendingRender = 0;
  private scheduleRender(): void {
    // At most a few renders per second however fast rows arrive.
    if (!this.pendingRender) this.pendingRender = window.setTimeout(() => {
      this.pendingRender = 0;
      this.render();
    }, 250);
  }

  render(): void {
    const s = this.stats;
    // Bars are redrawn as rows arrive: keep the keyboard focus on the same bar.
    const hadFocus = this.chart.contains(document.activeElement);
    this.chart.replaceChildren();
    this.levelsEl.replaceChildren();
    this.servicesEl.replaceChildren();
    if (!s) {
      this.summaryEl.textContent = 'loading counts…';
      this.axisEl?.replaceChildren();
      return;
    }
    this.summaryEl.textContent = '';
    const total = el('strong', '', s.total.toLocaleString('en'));
    total.id = 'stats-total';
    total.dataset.count = String(s.total);
    this.summaryEl.append(total, ` events in the last ${s.window} (bars of ${s.bucket}) · ${s.events_per_second.toFixed(1)}/s now`);
    const countedFrom = Date.parse(s.counted_from);
    if (!s.complete) {
      const note = el('span', 'uncounted-note', ` · counted since ${new Date(countedFrom).toISOString().slice(11, 19)} UTC only: a text search counts for a limited time`);
      note.id = 'stats-partial';
      this.summaryEl.append(note);
    }

    const max = Math.max(1, ...s.buckets.map((b) => b.total));
    const w = WIDTH / s.buckets.length;
    s.buckets.forEach((b, i) => {
      const start = Date.parse(b.start);
      const g = svg('g', { class: start < countedFrom ? 'bar uncounted' : 'bar', role: 'button', tabindex: i === this.focusIndex || (this.focusIndex < 0 && i === s.buckets.length - 1) ? 0 : -1 });
      g.dataset.start = b.start;
      g.dataset.total = String(b.total);
      const label = start < countedFrom ? `${new Date(start).toISOString().slice(11, 19)}: not counted (text search out of time); activate to show the rows` : `${new Date(start).toISOString().slice(11, 19)}: ${b.total} events (${LEVELS.filter((l) => b.counts[l]).map((l) => `${b.counts[l]} ${l}`).join(', ') || 'none'}); activate to show them`;
      g.setAttribute('aria-label', label);
      const title = svg('title');
      title.textContent = label;
      g.append(title, svg('rect', { class: 'hit', x: i * w, y: 0, width: w, height: HEIGHT }));
      let y = HEIGHT;
      for (const level of LEVELS) {
        const n = b.counts[level];
        if (!n) continue;
        const h = (n / max) * (HEIGHT - 4);
        y -= h;
        g.append(svg('rect', { class: `seg ${level}`, x: i * w + w * 0.1, y, width: w * 0.8, height: h }));
      }
      g.addEventListener('click', () => {
        if (!this.dragged) this.events.onBar(start, start + this.bucketMs);
      });
      g.addEventListener('keydown', (e) => this.onBarKey(e, i, start));
      this.chart.append(g);
    });
    if (!s.complete) {
      // Hatch the bars a text search had no time to count: they read 0 but are unknown.
      const uncounted = s.buckets.filter((b) => Date.parse(b.start) < countedFrom).length;
      const hatch = svg('pattern', { id: 'uncounted-hatch', width: 10, height: 10, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' });
      hatch.append(svg('rect', { class: 'hatch', width: 4, height: 10 }));
      const defs = svg('defs');
      defs.append(hatch);
      this.chart.append(defs, svg('rect', { class: 'uncounted-span', x: 0, y: 0, width: uncounted * w, height: HEIGHT, fill: 'url(#uncounted-hatch)' }));
    }
    if (hadFocus) this.chart.querySelector<SVGGElement>('g.bar[tabindex="0"]')?.focus();
    this.renderAxis(Date.parse(s.from), Date.parse(s.to));

    for (const level of LEVELS) {
      const b = el('button', `level-count ${level}`);
      b.type = 'button';
      b.dataset.level = level;
      b.title = `show ${level} and above`;
      b.append(el('span', 'name', level), ' ', el('span', 'n', s.by_level[level].toLocaleString('en')));
      b.addEventListener('click', () => this.events.onLevel(level));
      this.levelsEl.append(b);
    }
    const services = Object.entries(s.by_service).sort((a, b) => b[1] - a[1]).slice(0, 10);
    for (const [name, n] of services) {
      const li = el('li');
      const b = el('button', 'service-count');
      b.type = 'button';
      b.dataset.service = name;
      b.title = `show only ${name}`;
      b.append(el('span', 'name', name), ' ', el('span', 'n', n.toLocaleString('en')));
      b.addEventListener('click', () => this.events.onService(name));
      li.append(b);
      this.servicesEl.append(li);
    }
  }

  /** Roving focus over the bars: one tab stop, arrows move, Enter/Space narrows the tail. */
  private onBarKey(e: KeyboardEvent, i: number, start: number): void {
    const n = this.stats?.buckets.length ?? 0;
    let next = i;
    if (e.key === 'ArrowLeft') next = Math.max(0, i - 1);
    else if (e.key === 'ArrowRight') next = Math.min(n - 1, i + 1);
    else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.events.onBar(start, start + this.bucketMs);
      return;
    } else return;
    e.preventDefault();
    this.focusIndex = next;
    const bars = this.chart.querySelectorAll<SVGGElement>('g.bar');
    bars.forEach((b, k) => b.setAttribute('tabindex', k === next ? '0' : '-1'));
    bars[next]?.focus();
  }

  /** Service names seen in the counts (for the service picker). */
  services(): string[] {
    return Object.keys(this.stats?.by_service ?? {});
  }
}
