// GET /send?message=…&service=… and POST /send (a JSON array) of the bare uWS baseline, answered 202 at once: the
// one definition for the publishing process (bare-uws.ts, ingress 'inline') and its own front door
// (bare-ingress.ts, ingress 'process'). Each request's events go to `take` as [message, service] pairs.
import type { TemplatedApp } from 'uWebSockets.js';

export type BareEvent = [message: string, service: string];

export function serveBareSend(app: TemplatedApp, take: (events: BareEvent[]) => void): void {
  app.get('/send', (res, req) => {
    const q = new URLSearchParams(req.getQuery() ?? '');
    take([[q.get('message') ?? '', q.get('service') ?? 'bare']]);
    res.cork(() => res.writeStatus('202 Accepted').writeHeader('Content-Type', 'application/json').end('{"accepted":1}'));
  });
  app.post('/send', (res) => {
    const chunks: Buffer[] = [];
    res.onAborted(() => {});
    res.onData((chunk, last) => {
      chunks.push(Buffer.from(chunk.slice(0)));
      if (!last) return;
      const events = JSON.parse(Buffer.concat(chunks).toString()) as { message: string; service?: string }[];
      take(events.map((e) => [e.message, e.service ?? 'bare']));
      res.cork(() => res.writeStatus('202 Accepted').writeHeader('Content-Type', 'application/json').end(`{"accepted":${events.length}}`));
    });
  });
}
