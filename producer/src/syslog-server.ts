// The syslog listener (issue 14 point 4): RFC 5424 / RFC 3164 over TCP (RFC 6587 framing) and UDP on SYSLOG_PORT.
// Messages are queued and published in batches (one Redis call per batch of up to BATCH_EVENTS, not one per line).
// While the queue is full (Redis slow or down, backlog over STREAM_MAX_BACKLOG, rate limit) TCP connections are
// paused, so senders wait in their own buffers; UDP cannot wait, so what does not fit is dropped and counted.
// Each message gets its event id on arrival: a batch resent after an unknown outcome is stored once.
import { randomUUID } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { HttpError } from '@logstream/shared/errors.js';
import { MAX_BATCH_EVENTS, MAX_MESSAGE_BYTES, type ValidEvent } from '@logstream/shared/event.js';
import { prom } from '@logstream/shared/metrics.js';
import type { IngestContext } from './ingest-context.js';
import { serviceName } from './shipper-fields.js';
import { validateSyslog } from './syslog-event.js';
import { createFramer, parseSyslog, SyslogError } from './syslog-parse.js';

/** Events per Redis call: the size of a typical /send batch. */
const BATCH_EVENTS = 1_000;
/** Queued events above which UDP datagrams are dropped: UDP cannot wait, so its queue is deep. */
export const QUEUE_EVENTS = MAX_BATCH_EVENTS;
/**
 * Queued events (the batch in flight included) at which TCP reads pause, and at or below which they resume: one batch
 * in flight and two ready, so that each Redis call is a full batch and reading never waits for more than one call.
 * Paused only at QUEUE_EVENTS, a TCP stream faster than Redis kept 8,000-10,000 events queued (a producer-only run
 * of the shippers bench's stream): each survived young-generation GCs into the old generation, and GC was 28% of
 * the producer's CPU against 21% for /send.
 */
const TCP_PAUSE_EVENTS = 3 * BATCH_EVENTS;
const TCP_RESUME_EVENTS = 2 * BATCH_EVENTS;
/** A frame is a message of at most 64 KiB plus its header. */
const MAX_FRAME_BYTES = MAX_MESSAGE_BYTES + 8 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface SyslogListener {
  port: number;
  close(): void;
}

export async function startSyslog(ctx: IngestContext, port: number, host: string): Promise<SyslogListener> {
  const registry = ctx.metrics.registry;
  const received = new prom.Counter({ name: 'logstream_syslog_messages_total', help: 'Syslog messages received, by transport', labelNames: ['transport'], registers: [registry] });
  const dropped = new prom.Counter({ name: 'logstream_syslog_dropped_total', help: 'Syslog messages not stored: invalid (no PRI, bad event, not UTF-8, too long) or, on UDP, over the queue', labelNames: ['transport', 'reason'], registers: [registry] });
  const queue: { eid: string; event: ValidEvent }[] = [];
  const sockets = new Set<Socket>();
  let paused = false;
  let flushing = false;
  let closed = false;

  const setPaused = (on: boolean) => {
    if (on === paused) return;
    paused = on;
    for (const s of sockets) if (on) s.pause(); else s.resume();
  };

  /** One message; the caller counts it in `received` (once per TCP chunk: a labelled inc per line was 0.7 ms/1,000). */
  function accept(frame: Buffer, transport: 'tcp' | 'udp'): void {
    let text: string;
    try {
      text = utf8.decode(frame);
    } catch {
      dropped.inc({ transport, reason: 'invalid_utf8' });
      return;
    }
    let raw: Record<string, unknown>;
    try {
      raw = parseSyslog(text);
    } catch (err) {
      dropped.inc({ transport, reason: err instanceof SyslogError ? err.reason : 'invalid' });
      return;
    }
    if (typeof raw.service === 'string') raw.service = serviceName(raw.service);
    const r = validateSyslog(raw);
    if (!r.ok) {
      dropped.inc({ transport, reason: 'invalid_event' });
      return;
    }
    if (transport === 'udp' && queue.length >= QUEUE_EVENTS) {
      dropped.inc({ transport, reason: 'queue_full' });
      return;
    }
    queue.push({ eid: randomUUID(), event: r.event });
    if (queue.length >= TCP_PAUSE_EVENTS) setPaused(true);
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  }

  /** Publish the queue in batches; a refused batch (429, 503) waits its Retry-After and is sent again, same ids. */
  async function flush(): Promise<void> {
    while (queue.length > 0 && !closed) {
      const batch = queue.slice(0, BATCH_EVENTS);
      try {
        await ctx.publish(batch.map((b) => b.event), undefined, 'syslog', () => batch.map((b) => b.eid));
        queue.splice(0, batch.length);
      } catch (err) {
        const retryable = !(err instanceof HttpError) || err.status === 429 || err.status === 503;
        if (!retryable) {
          ctx.log.warn({ err: (err as Error).message, events: batch.length }, 'syslog batch refused; dropped');
          dropped.inc({ transport: 'any', reason: (err as HttpError).code }, batch.length);
          queue.splice(0, batch.length);
          continue;
        }
        const wait = err instanceof HttpError ? Number(err.headers['Retry-After'] ?? 1) : 1;
        await new Promise((r) => setTimeout(r, Math.min(5, Math.max(1, wait)) * 1000));
      }
      if (queue.length <= TCP_RESUME_EVENTS) setPaused(false);
    }
    flushing = false;
    setPaused(false);
  }

  const tcp: Server = createServer((socket) => {
    // Over MAX_CONNECTIONS (connection-cap.ts) a new TCP sender is closed at once: syslog has no refusal message,
    // and a sender (rsyslog, syslog-ng) reconnects later and resends what it had queued.
    if (ctx.cap.full()) {
      ctx.cap.tcpRefused++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    if (paused) socket.pause();
    let frames = 0;
    const framer = createFramer(
      MAX_FRAME_BYTES,
      (frame) => {
        frames++;
        accept(frame, 'tcp');
      },
      () => dropped.inc({ transport: 'tcp', reason: 'too_long' }),
    );
    socket.on('data', (chunk: Buffer) => {
      framer.push(chunk);
      if (frames > 0) received.inc({ transport: 'tcp' }, frames);
      frames = 0;
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  const udp: UdpSocket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (msg) => {
    // A datagram is one message; a trailing newline (rsyslog adds none, some senders do) is not part of it.
    if (msg.length > MAX_FRAME_BYTES) dropped.inc({ transport: 'udp', reason: 'too_long' });
    else {
      received.inc({ transport: 'udp' });
      accept(msg, 'udp');
    }
  });
  udp.on('error', (err) => ctx.log.warn({ err: err.message }, 'syslog UDP socket error'));

  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen({ port, host, exclusive: true }, () => resolve());
  });
  const actual = (tcp.address() as { port: number }).port;
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind({ port: actual, address: host, exclusive: true }, () => resolve());
  }).catch((err: Error) => {
    tcp.close();
    throw err;
  });
  return {
    port: actual,
    close() {
      closed = true;
      tcp.close();
      for (const s of sockets) s.destroy();
      udp.close();
    },
  };
}
