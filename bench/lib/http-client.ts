// A keep-alive HTTP client for the load generators (node:http with a pooled Agent: no per-request connect).
import http from 'node:http';

export interface HttpReply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export type Requester = (method: string, path: string, body?: string | Buffer, contentType?: string) => Promise<HttpReply>;

export function httpClient(baseUrl: string, maxSockets: number, timeoutMs = 30_000): Requester {
  const base = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  return (method, path, body, contentType = 'application/json') =>
    new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = {};
      if (body !== undefined) {
        headers['content-type'] = contentType;
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = http.request({ host: base.hostname, port: base.port, method, path, agent, headers, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
}
