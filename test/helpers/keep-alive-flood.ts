// Many HTTP/1.1 keep-alive clients, each asking again on its socket after a pause (so that the server's ~10 s idle
// timeout never closes it) and reconnecting when the server closes it: the load of issue 11 point 5.
import { connect, type Socket } from 'node:net';

export interface FloodAnswer {
  status: number;
  /** Header lines, lower-cased names. */
  headers: Map<string, string>;
  body: string;
}

export interface FloodOptions {
  port: number;
  clients: number;
  /**
   * New sockets that may wait for their first answer at once. A socket the server has not answered yet is one it
   * could not judge yet, so the server's descriptors can exceed its cap by at most this many: the bound the test
   * asserts holds whatever the machine's speed.
   */
  maxConnecting: number;
  pauseMs: number;
  /** The raw request for the client's `n`-th one (n counts across all clients). */
  request: (n: number) => string;
  /** Every answer, with the request's n and whether the server closed the socket after it. */
  onAnswer: (n: number, answer: FloodAnswer, closedByServer: boolean) => void;
}

export interface Flood {
  /** Sockets that were closed by the server right after an answer, and after no answer (hangs or resets). */
  readonly closedAfterAnswer: number;
  readonly closedWithoutAnswer: number;
  stop(): Promise<void>;
}

function parseHead(head: string): { status: number; headers: Map<string, string> } {
  const lines = head.split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
  }
  return { status, headers };
}

/** One keep-alive socket: send a request, resolve with its answer (and whether the server then closed it). */
class KeepAliveSocket {
  private buf = Buffer.alloc(0);
  private waiting?: (a: { answer?: FloodAnswer; closed: boolean }) => void;
  private pending?: FloodAnswer;
  closed = false;
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.tryParse();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.settle();
    });
  }

  private tryParse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || this.pending) return;
    const { status, headers } = parseHead(this.buf.subarray(0, end).toString('latin1'));
    const length = Number(headers.get('content-length') ?? 0);
    if (this.buf.length < end + 4 + length) return;
    this.pending = { status, headers, body: this.buf.subarray(end + 4, end + 4 + length).toString('utf8') };
    this.buf = this.buf.subarray(end + 4 + length);
    // A Connection: close answer is settled by the close that follows it, so that the caller knows it came.
    if (headers.get('connection')?.toLowerCase() !== 'close') this.settle();
  }

  private settle(): void {
    const w = this.waiting;
    if (!w) return;
    if (!this.pending && !this.closed) return;
    this.waiting = undefined;
    const answer = this.pending;
    this.pending = undefined;
    w({ answer, closed: this.closed });
  }

  ask(request: string): Promise<{ answer?: FloodAnswer; closed: boolean }> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      if (this.closed) return this.settle();
      this.socket.write(request);
    });
  }
}

/** A counting semaphore for the sockets still waiting for their first answer. */
class Slots {
  private waiters: (() => void)[] = [];
  constructor(private free: number) {}
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }
  give(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

export function startFlood(o: FloodOptions): Flood {
  let stopped = false;
  let n = 0;
  const stats = { closedAfterAnswer: 0, closedWithoutAnswer: 0 };
  const slots = new Slots(o.maxConnecting);
  const open = new Set<Socket>();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function client(): Promise<void> {
    let s: KeepAliveSocket | undefined;
    while (!stopped) {
      let first = false;
      if (!s) {
        await slots.take();
        if (stopped) {
          slots.give();
          return;
        }
        const socket = connect(o.port, '127.0.0.1');
        open.add(socket);
        socket.once('close', () => open.delete(socket));
        s = new KeepAliveSocket(socket);
        first = true;
      }
      const id = n++;
      const { answer, closed } = await s.ask(o.request(id));
      if (first) slots.give();
      if (answer) o.onAnswer(id, answer, closed);
      if (closed) {
        if (answer) stats.closedAfterAnswer++;
        else if (!stopped) stats.closedWithoutAnswer++;
        s = undefined;
      }
      await sleep(o.pauseMs * (0.5 + Math.random()));
    }
    s?.socket.destroy();
  }

  const clients = Array.from({ length: o.clients }, () => client());
  return {
    get closedAfterAnswer() {
      return stats.closedAfterAnswer;
    },
    get closedWithoutAnswer() {
      return stats.closedWithoutAnswer;
    },
    async stop() {
      stopped = true;
      for (const s of open) s.destroy();
      await Promise.all(clients);
    },
  };
}
