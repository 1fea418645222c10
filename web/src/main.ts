// The live-tail page: wires the filters (kept in the URL), the tail (rows.ts), the /live connection (live.ts) and
// the analytics panel (histogram.ts). Modes: following the tail; paused (button, scrolling up, a permalink or a
// chosen bar), where new rows wait and are counted; "Jump to latest" always returns to following.
import { LEVELS, type LevelName } from '@logstream/shared/levels.js';
import type { LogItem } from '@logstream/shared/protocol.js';
import { fetchFields, fetchLog, fetchLogs, fetchOlderLogs, fetchStats, filterParams, type LogsPage, type ViewFilter } from './api.js';
import { FieldSidebar } from './fields.js';
import { $, el, highlighter } from './dom.js';
import { Histogram } from './histogram.js';
import { LiveConnection } from './live.js';
import { MAX_ROWS, RowList } from './rows.js';

const RECENT_ROWS = 200;
const HISTORY_PAGE = 200;
const CONTEXT_ROWS = 100;
const STATS_REFRESH_MS = 15_000;
const SERVICES_REFRESH_MS = 60_000;
const WINDOWS = ['5m', '15m', '1h', '6h', '24h', '7d'];

const scroller = $<HTMLElement>('tail');
const statusEl = $<HTMLParagraphElement>('status');
const noticeEl = $<HTMLParagraphElement>('notice');
const topNote = $<HTMLParagraphElement>('top-note');
const serviceEl = $<HTMLDivElement>('service');
const levelEl = $<HTMLSelectElement>('level');
const qEl = $<HTMLInputElement>('q');
const hlEl = $<HTMLInputElement>('hl');
const windowEl = $<HTMLSelectElement>('window');
const pauseEl = $<HTMLButtonElement>('pause');
const newEl = $<HTMLButtonElement>('new');

type PauseReason = 'button' | 'scroll' | 'permalink' | 'range' | null;
let paused: PauseReason = null;
/** Bar view: the tail shows [from, to) instead of following. */
let range: { from: number; to: number } | undefined;
/** Permalink view: the row to open in context. */
let permalinkId: number | undefined;
/** In a permalink view whose newer rows were not all loaded, Resume must reload rather than append after a gap. */
let gapAfterContext = false;
let generation = 0;
let loadingOlder = false;
/**
 * Where reading older rows continues: next_before of the last page read (null: nothing older matches), which a text
 * search may leave below the oldest row shown (it searched further without a match). It holds while that row is
 * still the oldest one shown; once rows were trimmed at the cap (or arrived live into an empty view), reading
 * continues below the oldest row shown.
 */
let older: { before: number | null; firstId: number | undefined } | undefined;
const olderCursor = (): number | null | undefined => (older && older.firstId === rows.firstId ? older.before : rows.firstId);
const knownServices = new Set<string>();
/** Services chosen in the chip list (none = all). */
let selectedServices = new Set<string>();
/** Field filters (issue 16), from the sidebar and the URL (attr.<name>=<value>). */
let attrs: Record<string, string> = {};

const rows = new RowList($<HTMLOListElement>('rows'), scroller, () => updateFooter());
const histogram = new Histogram($('chart') as unknown as SVGSVGElement, $('level-counts'), $('service-counts'), $('stats-summary'), {
  onBar: (from, to) => {
    range = { from, to };
    permalinkId = undefined;
    void restart();
  },
  onLevel: (level) => {
    levelEl.value = level;
    void restart();
  },
  onService: (service) => {
    setSelectedServices([service]);
    void restart();
  },
  onStale: () => scheduleStats(1_000),
}, $('chart-axis'), $('chart-selection'));
const sidebar = new FieldSidebar($('fields'), (name, value) => {
  if (value === undefined) delete attrs[name];
  else attrs[name] = value;
  range = undefined;
  permalinkId = undefined;
  void restart();
});
const live = new LiveConnection(() => filterParams(readFilter()), {
  onRows: (items) => received(items),
  onHello: () => updateFooter(),
  onDropped: (msg) => void fillDropped(msg.from, msg.to, msg.count),
  onError: (message) => showNotice(message),
  onState: (state, detail) => {
    statusEl.dataset.state = state;
    statusEl.textContent = detail;
    updateFooter();
  },
});

function readFilter(): ViewFilter {
  return { services: [...selectedServices].sort(), level: levelEl.value, q: qEl.value, attrs: { ...attrs } };
}

function setSelectedServices(names: string[]): void {
  for (const n of names) addServiceOption(n);
  selectedServices = new Set(names);
  for (const b of Array.from(serviceEl.querySelectorAll<HTMLButtonElement>('button.chip'))) b.setAttribute('aria-pressed', String(selectedServices.has(b.dataset.service!)));
}

/** A chip per known service, in name order; pressing one toggles it in the filter. */
function addServiceOption(name: string): void {
  if (knownServices.has(name)) return;
  knownServices.add(name);
  const chips = Array.from(serviceEl.querySelectorAll<HTMLButtonElement>('button.chip'));
  const next = chips.find((c) => c.dataset.service! > name) ?? null;
  const b = el('button', 'chip', name);
  b.type = 'button';
  b.dataset.service = name;
  b.setAttribute('aria-pressed', String(selectedServices.has(name)));
  b.addEventListener('click', () => {
    const names = new Set(selectedServices);
    if (names.has(name)) names.delete(name);
    else names.add(name);
    setSelectedServices([...names]);
    restartSoon();
  });
  serviceEl.insertBefore(b, next);
}

function showNotice(text: string | undefined): void {
  noticeEl.hidden = !text;
  noticeEl.textContent = text ?? '';
}

function writeUrl(): void {
  const p = filterParams(readFilter());
  if (hlEl.value) p.set('hl', hlEl.value);
  if (windowEl.value !== '15m') p.set('window', windowEl.value);
  if (permalinkId !== undefined) p.set('id', String(permalinkId));
  if (range) {
    p.set('from', new Date(range.from).toISOString());
    p.set('to', new Date(range.to).toISOString());
  }
  const qs = p.toString();
  history.replaceState(null, '', `${location.pathname}${qs ? '?' + qs : ''}`);
}

function readUrl(): void {
  const p = new URLSearchParams(location.search);
  setSelectedServices((p.get('service') ?? '').split(',').filter(Boolean));
  attrs = {};
  for (const [k, v] of p) if (k.startsWith('attr.') && k.length > 5 && v !== '') attrs[k.slice(5)] = v;
  const level = p.get('level') ?? '';
  levelEl.value = (LEVELS as readonly string[]).includes(level) ? level : '';
  qEl.value = p.get('q') ?? '';
  hlEl.value = p.get('hl') ?? '';
  const w = p.get('window') ?? '15m';
  windowEl.value = WINDOWS.includes(w) ? w : '15m';
  const id = Number(p.get('id'));
  permalinkId = Number.isSafeInteger(id) && id > 0 ? id : undefined;
  const from = Date.parse(p.get('from') ?? '');
  const to = Date.parse(p.get('to') ?? '');
  range = Number.isFinite(from) && Number.isFinite(to) && to > from ? { from, to } : undefined;
}

function updateFooter(): void {
  $('count').textContent = `${rows.size.toLocaleString('en')} rows shown${rows.trimmed ? ` (${rows.trimmed.toLocaleString('en')} older trimmed)` : ''}${hlEl.value ? ` · ${rows.highlighted} highlighted` : ''}`;
  $('cursor').textContent = `cursor #${live.cursor || '—'}`;
  const n = rows.pending.length;
  newEl.hidden = n === 0;
  newEl.textContent = `${n.toLocaleString('en')} new`;
  newEl.setAttribute('aria-label', `${n} new rows while paused; show them`);
}

function setPaused(reason: PauseReason): void {
  paused = reason;
  pauseEl.setAttribute('aria-pressed', String(reason !== null));
  pauseEl.textContent = reason ? 'Resume' : 'Pause';
  document.body.dataset.paused = reason ?? '';
  updateFooter();
}

/** Back to following the tail: show what waited, scroll to the newest row. */
function resume(): void {
  if (range || (permalinkId !== undefined && gapAfterContext)) {
    range = undefined;
    permalinkId = undefined;
    void restart();
    return;
  }
  permalinkId = undefined;
  writeUrl();
  setPaused(null);
  rows.resume();
  scroller.scrollTop = scroller.scrollHeight;
}

function received(items: LogItem[]): void {
  const fresh = rows.receive(items, paused !== null);
  histogram.add(fresh);
  for (const i of fresh) addServiceOption(i.service);
}

/** Rows skipped for this browser (it read too slowly): fetch exactly that id range and insert it in order. */
async function fillDropped(from: number, to: number, count: number): Promise<void> {
  const gen = generation;
  showNotice(`This browser fell behind: fetching ${count} skipped rows (#${from}–#${to})…`);
  let after = from - 1;
  try {
    while (after < to && gen === generation) {
      const page = await fetchLogs(readFilter(), { after, limit: 1000 });
      const items = page.items.filter((i) => i.id <= to);
      if (gen !== generation) return;
      histogram.add(rows.fill(items, paused !== null));
      if (page.next_after === null) break;
      after = page.next_after;
    }
    if (gen === generation) showNotice(undefined);
  } catch (err) {
    showNotice(`Could not fetch ${count} skipped rows (#${from}–#${to}): ${(err as Error).message}. Reload to see them.`);
  }
}

function rememberOlder(page: LogsPage): void {
  older = { before: page.next_before, firstId: rows.firstId };
  if (page.next_before === null) topNote.textContent = range ? 'Start of the chosen time range.' : 'Start of the log: no older rows match.';
}

async function loadOlder(): Promise<void> {
  const before = olderCursor();
  if (loadingOlder || before === null || before === undefined) return;
  // Following the tail at the cap: loading older rows would push out the newest ones the user is watching.
  if (rows.size >= MAX_ROWS && paused === null) {
    topNote.textContent = `The page keeps at most ${MAX_ROWS.toLocaleString('en')} rows. Older rows: narrow the filter, or GET /logs?before=${rows.firstId}.`;
    return;
  }
  loadingOlder = true;
  const gen = generation;
  topNote.textContent = 'loading older rows…';
  try {
    const extra: Record<string, string | number> = { before };
    if (range) extra.since = new Date(range.from).toISOString();
    const page = await fetchOlderLogs(readFilter(), extra, HISTORY_PAGE, (at) => {
      if (gen === generation) topNote.textContent = `searching older rows… (below #${at.toLocaleString('en')})`;
    });
    if (gen !== generation) return;
    rows.prepend(page.items, paused !== null);
    histogram.add(page.items);
    rememberOlder(page);
    if (page.next_before === null) return; // rememberOlder wrote the note
    if (page.items.length === 0) {
      // A rare word in a big table: nothing in the rows searched so far. Keep searching while the top is in view.
      topNote.textContent = `No older match down to #${page.next_before!.toLocaleString('en')} yet: searching on while you stay at the top…`;
    } else if (rows.pending.length > 0 && rows.size >= MAX_ROWS) {
      topNote.textContent = `The page keeps ${MAX_ROWS.toLocaleString('en')} rows: the newest ones wait below (Resume or Jump to latest).`;
    } else topNote.textContent = '';
  } catch (err) {
    topNote.textContent = `Could not load older rows: ${(err as Error).message}`;
  } finally {
    loadingOlder = false;
  }
  if (gen === generation && olderCursor() !== null && scroller.scrollTop < 150) window.setTimeout(() => void loadOlder(), 0);
}

let statsTimer: number | undefined;
function scheduleStats(ms: number): void {
  clearTimeout(statsTimer);
  statsTimer = window.setTimeout(() => void refreshStats(), ms);
}

async function refreshStats(): Promise<void> {
  const gen = generation;
  scheduleStats(STATS_REFRESH_MS);
  void refreshFields(gen);
  try {
    const stats = await fetchStats(readFilter(), windowEl.value);
    if (gen === generation) histogram.set(stats);
  } catch (err) {
    $('stats-summary').textContent = `counts unavailable: ${(err as Error).message}`;
  }
}

/** The sidebar's facets for the view: its window, or the chosen time range. */
async function refreshFields(gen: number): Promise<void> {
  try {
    const fields = await fetchFields(readFilter(), windowEl.value, range);
    if (gen === generation) sidebar.render(fields, attrs);
  } catch (err) {
    if (gen === generation) sidebar.render(undefined, attrs, (err as Error).message);
  }
}

async function refreshServices(): Promise<void> {
  try {
    const stats = await fetchStats({ services: [], level: '', q: '', attrs: {} }, '24h');
    for (const name of Object.keys(stats.by_service)) addServiceOption(name);
  } catch {
    // The gateway is down: try again at the next refresh.
  }
}

/** A new view (filter, bar, permalink or "latest"): load its rows, then continue live from the newest one. */
async function restart(): Promise<void> {
  const gen = ++generation;
  live.stop();
  rows.clear();
  histogram.reset();
  sidebar.render(undefined, attrs);
  older = undefined;
  gapAfterContext = false;
  topNote.textContent = '';
  showNotice(undefined);
  writeUrl();
  const f = readFilter();
  let since: number | undefined;
  try {
    if (permalinkId !== undefined) {
      const id = permalinkId;
      const [target, olderRows, newer] = await Promise.all([
        fetchLog(id),
        fetchOlderLogs(f, { before: id }, CONTEXT_ROWS),
        fetchLogs(f, { after: id, limit: CONTEXT_ROWS }),
      ]);
      if (gen !== generation) return;
      setPaused('permalink');
      rows.prepend([...newer.items, target, ...olderRows.items]);
      histogram.add([...newer.items, target, ...olderRows.items]);
      rows.reveal(id);
      rememberOlder(olderRows);
      gapAfterContext = newer.next_after !== null;
      since = gapAfterContext ? undefined : Math.max(id, newer.items[newer.items.length - 1]?.id ?? 0);
      showNotice(gapAfterContext ? `Showing row #${id} in context; newer rows continue after a gap — Jump to latest to follow the tail.` : `Showing row #${id} in context; new rows wait below (Resume to follow).`);
    } else if (range) {
      // Paused on the range from the moment it is chosen, whether or not its rows arrive.
      setPaused('range');
      const page = await fetchOlderLogs(f, { since: new Date(range.from).toISOString(), until: new Date(range.to - 1).toISOString() }, 1000);
      if (gen !== generation) return;
      rows.prepend(page.items);
      rememberOlder(page);
      showNotice(`Showing ${page.items.length === 1000 ? 'the newest 1000 ' : ''}rows from ${new Date(range.from).toISOString().slice(11, 19)} to ${new Date(range.to).toISOString().slice(11, 19)} UTC — Jump to latest to follow the tail.`);
      scroller.scrollTop = scroller.scrollHeight;
    } else {
      const page = await fetchOlderLogs(f, {}, RECENT_ROWS);
      if (gen !== generation) return;
      if (paused === 'permalink' || paused === 'range' || paused === 'scroll') setPaused(null);
      rows.prepend(page.items);
      rememberOlder(page);
      histogram.add(page.items);
      since = page.items[0]?.id;
      scroller.scrollTop = scroller.scrollHeight;
    }
  } catch (err) {
    if (gen !== generation) return;
    showNotice(`${(err as Error).message}`);
  }
  if (gen !== generation) return;
  live.start(since);
  void refreshStats();
  // A search that found nothing (or little) in the newest rows within its budget goes on reading older ones.
  if (typeof olderCursor() === 'number' && scroller.scrollTop < 150) void loadOlder();
}

// ---- wiring

// The analytics panel or the window can change the tail's height: stay on the newest row while following.
new ResizeObserver(() => {
  if (paused === null) scroller.scrollTop = scroller.scrollHeight;
}).observe(scroller);

let lastTop = 0;
scroller.addEventListener('scroll', () => {
  const top = scroller.scrollTop;
  const atBottom = top + scroller.clientHeight >= scroller.scrollHeight - 8;
  // Only a move up by the user pauses; our own scrolls go down or to the bottom.
  if (!atBottom && top < lastTop && paused === null) setPaused('scroll');
  else if (atBottom && paused === 'scroll') resume();
  lastTop = top;
  if (top < 150) void loadOlder();
});

let debounce: number | undefined;
const restartSoon = () => {
  clearTimeout(debounce);
  debounce = window.setTimeout(() => {
    range = undefined;
    permalinkId = undefined;
    void restart();
  }, 300);
};
levelEl.addEventListener('change', restartSoon);
qEl.addEventListener('input', restartSoon);
$<HTMLButtonElement>('service-all').addEventListener('click', () => {
  setSelectedServices([]);
  restartSoon();
});
hlEl.addEventListener('input', () => {
  rows.setHighlight(highlighter(hlEl.value));
  writeUrl();
});
windowEl.addEventListener('change', () => {
  writeUrl();
  histogram.reset();
  void refreshStats();
});
$<HTMLFormElement>('filters').addEventListener('submit', (e) => e.preventDefault());
pauseEl.addEventListener('click', () => (paused ? resume() : setPaused('button')));
newEl.addEventListener('click', resume);
$<HTMLButtonElement>('latest').addEventListener('click', () => {
  if (range || permalinkId !== undefined) {
    range = undefined;
    permalinkId = undefined;
    void restart();
  } else resume();
});

$('cap').textContent = `the page keeps the newest ${MAX_ROWS.toLocaleString('en')} rows (scroll up to load older ones)`;
readUrl();
rows.setHighlight(highlighter(hlEl.value));
setPaused(null);
void restart();
void refreshServices();
window.setInterval(() => void refreshServices(), SERVICES_REFRESH_MS);

// For tests and the curious: the page's own view of what it holds.
(window as unknown as { logstream: unknown }).logstream = {
  ids: () => Array.from(document.querySelectorAll<HTMLElement>("#rows > li")).map((li) => Number(li.dataset.id)),
  pending: () => rows.pending.map((i) => i.id),
  cursor: () => live.cursor,
  levels: LEVELS as readonly LevelName[],
};
