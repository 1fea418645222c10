// The live-tail page: connects to /live, shows rows as they arrive, filters, pause/resume, and resumes from its
// cursor after a reconnect (no gap, no duplicate). Log text is always set with textContent, never as HTML.
import { LEVELS } from '../../shared/src/levels.js';
import type { LogItem } from '../../shared/src/protocol.js';

const MAX_ROWS = 5_000; // rows kept in the page; older ones are trimmed (the footer says so)
const HISTORY_ROWS = 200;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const rowsEl = $<HTMLOListElement>('rows');
const statusEl = $<HTMLParagraphElement>('status');
const noticeEl = $<HTMLParagraphElement>('notice');
const countEl = $<HTMLSpanElement>('count');
const cursorEl = $<HTMLSpanElement>('cursor');
const serviceEl = $<HTMLInputElement>('service');
const levelEl = $<HTMLSelectElement>('level');
const qEl = $<HTMLInputElement>('q');
const pauseEl = $<HTMLButtonElement>('pause');
const mainEl = document.querySelector('main')!;

interface Filter {
  service: string;
  level: string;
  q: string;
}

let ws: WebSocket | undefined;
let cursor = 0; // id of the newest row received: the resume point
let paused = false;
let pending: LogItem[] = [];
let shown = 0;
let trimmed = 0;
let attempt = 0;
let everConnected = false;
const seen = new Set<number>();

function readFilter(): Filter {
  return { service: serviceEl.value.trim(), level: levelEl.value, q: qEl.value };
}

function filterParams(f: Filter): URLSearchParams {
  const p = new URLSearchParams();
  if (f.service) p.set('service', f.service);
  if (f.level) p.set('level', f.level);
  if (f.q) p.set('q', f.q);
  return p;
}

function setStatus(state: 'connecting' | 'live' | 'reconnecting' | 'resumed' | 'paused', text: string) {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

function renderRow(item: LogItem): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.id = String(item.id);
  li.dataset.level = item.level;
  const ts = document.createElement('time');
  ts.className = 'ts';
  ts.dateTime = item.timestamp;
  ts.textContent = item.timestamp.replace('T', ' ').replace('Z', '');
  const lvl = document.createElement('span');
  lvl.className = 'lvl';
  lvl.textContent = item.level;
  const svc = document.createElement('span');
  svc.className = 'svc';
  svc.textContent = item.service;
  const msg = document.createElement('span');
  msg.className = 'msg';
  msg.textContent = item.message; // text, never HTML
  li.append(ts, lvl, svc, msg);
  return li;
}

function updateFooter() {
  countEl.textContent = `${shown} rows${trimmed > 0 ? ` (oldest ${trimmed} trimmed: the page keeps the newest ${MAX_ROWS})` : ''}${pending.length > 0 ? ` · ${pending.length} new while paused` : ''}`;
  cursorEl.textContent = `cursor ${cursor || '—'}`;
}

function append(items: LogItem[]) {
  const fresh = items.filter((i) => !seen.has(i.id));
  if (fresh.length === 0) return;
  for (const i of fresh) seen.add(i.id);
  if (paused) {
    pending.push(...fresh);
    updateFooter();
    return;
  }
  const atBottom = mainEl.scrollTop + mainEl.clientHeight >= mainEl.scrollHeight - 20;
  const frag = document.createDocumentFragment();
  for (const i of fresh.sort((a, b) => a.id - b.id)) frag.append(renderRow(i));
  rowsEl.append(frag);
  shown += fresh.length;
  while (shown > MAX_ROWS && rowsEl.firstElementChild) {
    const first = rowsEl.firstElementChild as HTMLElement;
    seen.delete(Number(first.dataset.id));
    first.remove();
    shown--;
    trimmed++;
  }
  if (atBottom) mainEl.scrollTop = mainEl.scrollHeight;
  updateFooter();
}

async function fetchRange(from: number, to: number) {
  // Rows skipped for this (slow) browser: fetch them so nothing is silently missing.
  let after = from - 1;
  const f = readFilter();
  while (after < to) {
    const p = filterParams(f);
    p.set('after', String(after));
    p.set('limit', '1000');
    const res = await fetch(`/logs?${p}`);
    if (!res.ok) return;
    const body = (await res.json()) as { items: LogItem[] };
    const items = body.items.filter((i) => i.id <= to);
    append(items);
    if (body.items.length < 1000) return;
    after = body.items[body.items.length - 1]!.id;
  }
}

function connect() {
  const f = readFilter();
  const p = filterParams(f);
  if (cursor > 0) p.set('since', String(cursor));
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${proto}//${location.host}/live?${p}`);
  ws = socket;
  socket.onopen = () => {
    attempt = 0;
    setStatus(paused ? 'paused' : everConnected ? 'resumed' : 'live', paused ? 'paused' : everConnected ? `resumed from ${cursor}` : 'live');
    everConnected = true;
  };
  socket.onmessage = (ev) => {
    const msg = JSON.parse(ev.data as string);
    if (msg.type === 'hello') {
      if (cursor === 0) cursor = msg.head;
    } else if (msg.type === 'logs') {
      append(msg.items as LogItem[]);
      cursor = Math.max(cursor, msg.cursor);
      if (statusEl.dataset.state === 'resumed') setStatus('live', 'live');
      updateFooter();
    } else if (msg.type === 'dropped') {
      noticeEl.hidden = false;
      noticeEl.textContent = `This browser fell behind: fetching ${msg.count} skipped rows (${msg.from}–${msg.to}).`;
      fetchRange(msg.from, msg.to).then(() => {
        noticeEl.hidden = true;
      });
      cursor = Math.max(cursor, msg.to);
    } else if (msg.type === 'error') {
      noticeEl.hidden = false;
      noticeEl.textContent = msg.message;
    }
  };
  socket.onclose = () => {
    if (ws !== socket) return;
    const delay = Math.min(10_000, 250 * 2 ** attempt++) * (0.5 + Math.random() / 2);
    setStatus('reconnecting', `reconnecting… (retry in ${(delay / 1000).toFixed(1)} s)`);
    setTimeout(connect, delay);
  };
}

async function restart() {
  // A new filter: load recent history for it, then go live from the newest row shown.
  const f = readFilter();
  history.replaceState(null, '', `${location.pathname}${filterParams(f).size ? '?' + filterParams(f) : ''}`);
  rowsEl.replaceChildren();
  seen.clear();
  pending = [];
  shown = 0;
  trimmed = 0;
  cursor = 0;
  const old = ws;
  ws = undefined;
  old?.close();
  try {
    const p = filterParams(f);
    p.set('limit', String(HISTORY_ROWS));
    const res = await fetch(`/logs?${p}`);
    if (res.ok) {
      const body = (await res.json()) as { items: LogItem[] };
      append(body.items.slice().reverse());
      if (body.items.length > 0) cursor = body.items[0]!.id;
      noticeEl.hidden = true;
    } else {
      const body = await res.json().catch(() => ({ message: res.statusText }));
      noticeEl.hidden = false;
      noticeEl.textContent = body.message;
    }
  } catch {
    // The gateway is down: the socket below keeps retrying.
  }
  everConnected = false;
  connect();
}

function initFromUrl() {
  const p = new URLSearchParams(location.search);
  serviceEl.value = p.get('service') ?? '';
  const level = p.get('level') ?? '';
  levelEl.value = (LEVELS as readonly string[]).includes(level) ? level : '';
  qEl.value = p.get('q') ?? '';
}

let debounce: ReturnType<typeof setTimeout> | undefined;
for (const el of [serviceEl, levelEl, qEl]) {
  el.addEventListener(el === levelEl ? 'change' : 'input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(restart, 300);
  });
}
$<HTMLFormElement>('filters').addEventListener('submit', (e) => e.preventDefault());
pauseEl.addEventListener('click', () => {
  paused = !paused;
  pauseEl.setAttribute('aria-pressed', String(paused));
  pauseEl.textContent = paused ? 'Resume' : 'Pause';
  if (!paused) {
    const items = pending;
    pending = [];
    for (const i of items) seen.delete(i.id);
    append(items);
    setStatus('live', 'live');
  } else {
    setStatus('paused', 'paused');
  }
  updateFooter();
});
$<HTMLButtonElement>('clear').addEventListener('click', () => {
  rowsEl.replaceChildren();
  shown = 0;
  trimmed = 0;
  updateFooter();
});

initFromUrl();
void restart();
