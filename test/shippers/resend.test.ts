// Shippers resend a body after a timeout or a 503 whose outcome is unknown (issue 11 point 1): the event ids of the
// Loki, OTLP and Elasticsearch paths come from the body, so the same body sent twice is stored once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/test-env.js';

let s: Stack;
beforeAll(async () => {
  s = await startStack('resend');
});
afterAll(async () => s?.stop());

describe('a resent shipper body', () => {
  it('is stored once on every HTTP shipper path, while a different body is stored', async () => {
    const ns = '1764180000000000000';
    const requests: [string, string, string][] = [
      ['/loki/api/v1/push', 'application/json', JSON.stringify({ streams: [{ stream: { app: 'resend' }, values: [[ns, 'loki once'], [ns, 'loki twice in one body']] }] })],
      ['/v1/logs', 'application/json', JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'resend' } }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: 'otlp once' } }] }] }] })],
      ['/_bulk', 'application/x-ndjson', '{"create":{}}\n{"message":"es once","service":"resend"}\n'],
    ];
    for (const [path, type, body] of requests) {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${s.producer.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
        expect(res.status, path).toBeLessThan(300);
        await res.arrayBuffer();
      }
    }
    const other = await fetch(`${s.producer.url}/_bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"create":{}}\n{"message":"es once","service":"resend","n":2}\n' });
    expect(other.status).toBe(200);
    await other.arrayBuffer();
    // Every entry the producer wrote read and acked by the processor, then the rows (the producer may already have
    // written a resent id once: the stream holds at most 13 entries, 3 sends of 2 + 1 + 1, and the other body).
    await s.waitLogs(5, { service: 'resend' });
    await waitFor('the processor done', async () => {
      const [group] = (await s.t.redis.xinfo('GROUPS', s.t.stream)) as unknown[][];
      const info = new Map<string, unknown>();
      for (let i = 0; i < (group?.length ?? 0); i += 2) info.set(String(group![i]), group![i + 1]);
      return Number(info.get('lag')) === 0 && Number(info.get('pending')) === 0;
    });
    expect((await s.logs({ service: 'resend' })).map((r) => r.message).sort()).toEqual(['es once', 'es once', 'loki once', 'loki twice in one body', 'otlp once']);
  });
});
