// One /live subscriber's state (issue 13 point 1): its filter, its mode and the generation that stops a stale
// replay. This class is the one owner of that state: every change is a method here, and a transition the machine
// does not have throws (a bug, caught by test/live-core.test.ts, never a row sent out of order).
//
//   idle ──subscribe, no since──▶ live ◀──replay or recovery done── catchup ◀──subscribe with since── idle
//                                  │                                   ▲
//                                  └──buffer over the soft limit──▶ lagging ──drained──┘
//
// A new subscribe frame returns any mode to idle first; close ends the machine.
import { EMPTY_FILTER, type Filter } from '@logstream/shared/protocol.js';

export type Mode = 'idle' | 'catchup' | 'live' | 'lagging';

/** What the live core needs of a socket (live/uws-socket.ts wraps a uWS WebSocket; tests use fakes). */
export interface Outlet {
  send(frame: string): void;
  /** Bytes queued to the socket and not yet written. */
  bufferedAmount(): number;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Close the connection (the client resumes with `since`). */
  end(code: number, reason: string): void;
}

const NEXT: Record<Mode, readonly Mode[]> = {
  idle: ['catchup', 'live'],
  catchup: ['live'],
  live: ['lagging'],
  lagging: ['catchup'],
};

export class Subscriber {
  private state: Mode = 'idle';
  private subscription: Filter = EMPTY_FILTER;
  private from = 0;
  private gen = 0;
  private ended = false;

  constructor(readonly outlet: Outlet) {}

  get mode(): Mode {
    return this.state;
  }
  get filter(): Filter {
    return this.subscription;
  }
  /** While lagging: the first id that may have been skipped. */
  get laggingFrom(): number {
    return this.from;
  }
  get closed(): boolean {
    return this.ended;
  }
  /** The subscription a replay or recovery was started for; it stops when this changed (current() is false). */
  get generation(): number {
    return this.gen;
  }

  /** Whether work started for subscription `generation` may still send. */
  current(generation: number): boolean {
    return !this.ended && generation === this.gen;
  }

  /** A subscribe frame (or the query string's filter): back to idle with a new filter and generation. */
  resubscribe(filter: Filter): number {
    this.subscription = filter;
    this.state = 'idle';
    return ++this.gen;
  }

  /** Replaying stored rows after `since` (from idle), or counting what was skipped (from lagging). */
  catchUp(): void {
    this.move('catchup');
  }

  /** On the filter's topic: every row after the head is published to it. */
  goLive(): void {
    this.move('live');
  }

  /** Taken off the topic for a full send buffer: rows from `from` on may be skipped until it drains. */
  lag(from: number): void {
    this.move('lagging');
    this.from = from;
  }

  close(): void {
    this.ended = true;
    this.gen++;
  }

  /** Send unless closed (uWS throws on a closed socket). */
  send(frame: string): void {
    if (!this.ended) this.outlet.send(frame);
  }

  private move(to: Mode): void {
    if (this.ended) throw new Error(`live subscriber: ${to} after close`);
    if (!NEXT[this.state].includes(to)) throw new Error(`live subscriber: no transition ${this.state} → ${to}`);
    this.state = to;
  }
}
