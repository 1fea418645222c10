// The /live connection (CONTRACT §6): subscribe with the filter and `since` = the newest id received, so a
// reconnect resumes with no gap and no duplicate; reconnect with capped exponential backoff and jitter.
import { Backoff } from '@logstream/shared/backoff.js';
import { decodeServerMessage, type DroppedMessage } from '@logstream/shared/live-frames.js';
import type { LogItem } from '@logstream/shared/protocol.js';
import { readToken } from './api.js';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'resumed';

export interface LiveEvents {
  onRows(items: LogItem[]): void;
  /** Connected; `cursor` may have moved to the server's head. */
  onHello(): void;
  onDropped(msg: DroppedMessage): void;
  onError(message: string): void;
  onState(state: ConnectionState, detail: string): void;
}

/** 250 ms doubling to 10 s: a browser tab waits longer than a service, the gateway may be restarting under load. */
const RECONNECT = { initialMs: 250, maxMs: 10_000 };
/** How long "resumed" stays on screen before it reads "live" again. */
const RESUMED_MS = 4_000;

export class LiveConnection {
  private ws: WebSocket | undefined;
  private readonly backoff = new Backoff(RECONNECT);
  private timer: number | undefined;
  private everOpen = false;
  /** Newest id received (rows or `dropped` ranges): the resume point. */
  cursor = 0;

  constructor(
    private readonly params: () => URLSearchParams,
    private readonly events: LiveEvents,
  ) {}

  /** (Re)connect from `since` (or from now when undefined). */
  start(since: number | undefined): void {
    this.stop();
    this.cursor = since ?? 0;
    this.everOpen = false;
    this.backoff.reset();
    this.open();
  }

  stop(): void {
    clearTimeout(this.timer);
    const old = this.ws;
    this.ws = undefined;
    old?.close();
  }

  private open(): void {
    const p = this.params();
    if (this.cursor > 0) p.set('since', String(this.cursor));
    if (readToken) p.set('token', readToken); // browsers cannot set headers on a WebSocket
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${proto}//${location.host}/live?${p}`);
    this.ws = socket;
    this.events.onState(this.everOpen ? 'reconnecting' : 'connecting', this.everOpen ? 'reconnecting…' : 'connecting…');
    socket.onopen = () => {
      if (this.ws !== socket) return;
      this.backoff.reset();
      if (this.everOpen) {
        this.events.onState('resumed', `resumed from #${this.cursor}`);
        this.timer = window.setTimeout(() => this.ws === socket && this.events.onState('live', 'live'), RESUMED_MS);
      } else this.events.onState('live', 'live');
      this.everOpen = true;
    };
    socket.onmessage = (ev) => {
      if (this.ws !== socket) return;
      // A frame this page cannot read (or of a type it does not know) is skipped (live-frames.ts, decodeServerMessage).
      const msg = decodeServerMessage(String(ev.data));
      if (!msg) return;
      if (msg.type === 'hello') {
        if (this.cursor === 0) this.cursor = msg.head;
        this.events.onHello();
      } else if (msg.type === 'logs') {
        this.cursor = Math.max(this.cursor, msg.cursor);
        this.events.onRows(msg.items);
      } else if (msg.type === 'dropped') {
        this.cursor = Math.max(this.cursor, msg.to);
        this.events.onDropped(msg);
      } else if (msg.type === 'error') {
        this.events.onError(msg.message);
      }
    };
    socket.onclose = () => {
      if (this.ws !== socket) return;
      const delay = this.backoff.next();
      this.events.onState('reconnecting', `reconnecting… (retry in ${(delay / 1000).toFixed(1)} s)`);
      this.everOpen = true;
      this.timer = window.setTimeout(() => this.open(), delay);
    };
  }
}
