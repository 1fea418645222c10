// Raw HTTP over a TCP socket, for requests fetch() refuses to send: invalid bytes, streamed chunked bodies.
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: string;
  body: string;
  /** The server closed the connection (after or instead of answering). */
  closed: boolean;
}

function parse(text: string, closed: boolean): RawResponse {
  const head = text.indexOf('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  return { status, headers: head >= 0 ? text.slice(0, head) : text, body: head >= 0 ? text.slice(head + 4) : '', closed };
}

/** Send `request` as is; resolve with the first complete response (or whatever came before the close). */
export function rawRequest(port: number, request: Buffer | string, timeoutMs = 5_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    let bytes = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms; got ${JSON.stringify(text.slice(0, 200))}`));
    }, timeoutMs);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(parse(text, closed));
    };
    s.on('connect', () => s.write(request));
    s.on('data', (d: Buffer) => {
      bytes = Buffer.concat([bytes, d]);
      text = bytes.toString('utf8');
      const head = bytes.indexOf('\r\n\r\n');
      const len = /content-length: *(\d+)/i.exec(text)?.[1];
      if (head >= 0 && len !== undefined && bytes.length - head - 4 >= Number(len)) finish(false);
    });
    s.on('error', () => {});
    s.on('close', () => finish(true));
  });
}

/**
 * POST a chunked body of up to `totalBytes` in 64 KiB chunks, one every `gapMs`, until the server answers. Resolves
 * with the answer, whether the server closed the connection, and how many body bytes were written before it did.
 * (Writing flat out would make the server's close a reset that can discard its answer before we read it.)
 */
export function streamChunkedBody(port: number, path: string, totalBytes: number, gapMs = 2, timeoutMs = 15_000): Promise<RawResponse & { written: number }> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, '127.0.0.1');
    let text = '';
    let written = 0;
    let ended = false;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    const done = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ ...parse(text, true), written });
    };
    const timer = setTimeout(() => {
      ended = true;
      s.destroy();
      resolve({ ...parse(text, false), written });
    }, timeoutMs);
    let answered = false;
    let waiting = false;
    const pump = () => {
      waiting = false;
      if (ended || answered || s.destroyed) return;
      if (written >= totalBytes) {
        s.write('0\r\n\r\n');
        return;
      }
      written += chunk.length;
      if (s.write(frame)) setTimeout(pump, gapMs);
      else waiting = true; // continue on 'drain'
    };
    s.on('connect', () => {
      s.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
      pump();
    });
    s.on('drain', () => waiting && pump());
    s.on('data', (d) => {
      answered = true;
      text += d.toString('utf8');
    });
    s.on('error', () => done());
    s.on('close', () => done());
  });
}
