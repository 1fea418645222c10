// A /live subscriber for tests: records every frame and the rows it received, in order.
import WebSocket from 'ws';
import { waitFor } from './test-env.js';

export interface LiveClient {
  ws: WebSocket;
  frames: any[];
  ids: number[];
  cursor: number;
  waitForIds(n: number, timeoutMs?: number): Promise<void>;
  waitForFrame(type: string, timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
}

export async function connectLive(baseUrl: string, query = ''): Promise<LiveClient> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/live${query ? `?${query}` : ''}`);
  const client: LiveClient = {
    ws,
    frames: [],
    ids: [],
    cursor: 0,
    waitForIds: (n, timeoutMs = 60_000) => waitFor(`${n} rows (have ${client.ids.length})`, () => client.ids.length >= n, timeoutMs).then(() => {}),
    waitForFrame: (type, timeoutMs = 60_000) => waitFor(`a ${type} frame`, () => client.frames.find((f) => f.type === type), timeoutMs),
    close: () =>
      new Promise((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    client.frames.push(frame);
    if (frame.type === 'logs') {
      for (const item of frame.items) client.ids.push(item.id);
      client.cursor = frame.cursor;
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await client.waitForFrame('hello');
  return client;
}
