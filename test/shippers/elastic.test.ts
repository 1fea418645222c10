// Elasticsearch _bulk (issue 14 point 3) with the official @elastic/elasticsearch client (it checks the product
// header) and its bulk helper; rows read back through the gateway's /logs with every mapped field checked.
import { gzipSync } from 'node:zlib';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/test-env.js';

const TOKEN = 'es-token';
let s: Stack;
let client: Client;

beforeAll(async () => {
  s = await startStack('elastic', { INGEST_TOKENS: TOKEN });
  client = new Client({ node: s.producer.url, auth: { username: 'elastic', password: TOKEN } });
});
afterAll(async () => {
  await client?.close();
  await s?.stop();
});

const basic = `Basic ${Buffer.from(`elastic:${TOKEN}`).toString('base64')}`;
const bulk = (body: BodyInit, headers: Record<string, string> = {}, path = '/_bulk') =>
  fetch(`${s.producer.url}${path}`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-ndjson', ...headers }, body });

describe('Elasticsearch _bulk', () => {
  it('answers the probes shippers make first, with the product header', async () => {
    const info = await client.info();
    expect(info.version.number).toMatch(/^8\./);
    expect(await client.ping()).toBe(true);
    expect((await client.license.get()).license.status).toBe('active');
    await client.ilm.getLifecycle({ name: 'logs' });
    expect((await client.ilm.putLifecycle({ name: 'logs', policy: { phases: {} } })).acknowledged).toBe(true);
    expect((await client.indices.putIndexTemplate({ name: 'logs', index_patterns: ['logs-*'] })).acknowledged).toBe(true);
    expect((await client.ingest.putPipeline({ id: 'p', processors: [] })).acknowledged).toBe(true);
    await client.nodes.info();
    const head = await fetch(s.producer.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-elastic-product')).toBe('Elasticsearch');
    const unauth = await fetch(s.producer.url);
    expect(unauth.status).toBe(401);
    expect(((await unauth.json()) as { error: { type: string } }).error.type).toBe('security_exception');
  });

  it('stores what the bulk helper sends, mapping every field; a bad document is dropped alone', async () => {
    const docs = [
      { '@timestamp': '2025-11-26T18:00:00.123Z', message: 'ecs line', log: { level: 'WARNING', logger: 'app' }, service: { name: 'checkout', version: '2.1' }, host: { name: 'web-1' }, tags: ['a', 'b'] },
      { timestamp: 1764180001000, msg: 'pino-ish line', level: 50, service: 'checkout', pid: 7 },
      { time: '2025-11-26T18:00:02Z', log: 'fluent-bit line\n', kubernetes: { container_name: 'checkout', pod_name: 'p-1' }, stream: 'stdout' },
      { '@timestamp': '2025-11-26T18:00:03Z', event: { original: 'raw original', dataset: 'x' }, severity: 'err', app: 'checkout' },
      { level: 'info', service: 'checkout', note: 'no message at all' },
    ];
    const dropped: unknown[] = [];
    const result = await client.helpers.bulk({ datasource: docs, onDocument: () => ({ create: { _index: 'logs-checkout' } }), onDrop: (d) => void dropped.push(d), retries: 0, flushBytes: 1 << 20 });
    expect(result.total).toBe(5);
    expect(result.successful).toBe(4);
    expect(result.failed).toBe(1);
    expect(dropped).toHaveLength(1);
    expect(JSON.stringify(dropped[0])).toMatch(/no message/);
    const rows = await s.waitLogs(4, { service: 'checkout' });
    const by = (m: string) => rows.find((r) => r.message === m)!;
    expect(by('ecs line')).toMatchObject({ level: 'warn', timestamp: '2025-11-26T18:00:00.123Z', attributes: { 'log.logger': 'app', 'service.version': '2.1', 'host.name': 'web-1', tags: '["a","b"]', index: 'logs-checkout' } });
    expect(by('pino-ish line')).toMatchObject({ level: 'error', timestamp: '2025-11-26T18:00:01.000Z', attributes: { pid: 7, index: 'logs-checkout' } });
    expect(by('fluent-bit line\n')).toMatchObject({ level: 'info', timestamp: '2025-11-26T18:00:02.000Z', attributes: { 'kubernetes.pod_name': 'p-1', stream: 'stdout', index: 'logs-checkout' } });
    expect(by('raw original')).toMatchObject({ level: 'error', attributes: { 'event.dataset': 'x', index: 'logs-checkout' } });
    for (const r of rows) {
      expect(r.attributes.message).toBeUndefined();
      expect(r.attributes['log.level']).toBeUndefined();
      expect(r.attributes['service.name']).toBeUndefined();
    }
  });

  it('answers per item over raw NDJSON (gzip, /<index>/_bulk, index and create)', async () => {
    const body = [
      '{"index":{}}', '{"message":"indexed one","service":"raw-es"}',
      '{"create":{"_index":"other","_id":"given-id"}}', '{"message":"created two","service":"raw-es","level":"verbose"}',
      '{"create":{}}', '{"message":"bad time","service":"raw-es","@timestamp":"yesterday"}',
      '{"create":{}}', '{not json',
      '{"delete":{"_id":"x"}}',
      '{"create":{}}', '{"message":"odd level","service":"raw-es","level":"loud"}',
      '',
    ].join('\n');
    const res = await bulk(gzipSync(body), { 'content-encoding': 'gzip' }, '/app-index/_bulk');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-elastic-product')).toBe('Elasticsearch');
    const answer = (await res.json()) as { errors: boolean; items: Record<string, { status: number; _id: string; _index: string; error?: { reason: string } }>[] };
    expect(answer.errors).toBe(true);
    expect(answer.items.map((i) => [Object.keys(i)[0], Object.values(i)[0]!.status])).toEqual([['index', 201], ['create', 201], ['create', 400], ['create', 400], ['delete', 400], ['create', 201]]);
    expect(answer.items[1]!.create!._id).toBe('given-id');
    expect(answer.items[0]!.index!._index).toBe('app-index');
    expect(answer.items[2]!.create!.error!.reason).toMatch(/timestamp/);
    expect(answer.items[3]!.create!.error!.reason).toMatch(/failed to parse/);
    const rows = await s.waitLogs(3, { service: 'raw-es' });
    expect(rows.map((r) => [r.message, r.level, r.attributes.index])).toEqual([['indexed one', 'info', 'app-index'], ['created two', 'trace', 'other'], ['odd level', 'info', 'app-index']]);
    expect(rows[2]!.attributes.level).toBe('loud'); // no level logstream knows: kept, not refused
  });

  it('refuses a malformed bulk as Elasticsearch does and stores nothing of it', async () => {
    const before = await s.t.redis.xlen(s.t.stream);
    for (const body of ['{"create":{}}\n{"message":"never stored","service":"es-bad"}\n{"create":{}}\n', '{"create":\n{"message":"x"}\n', '{"explode":{}}\n{"message":"x"}\n']) {
      const res = await bulk(body);
      expect(res.status).toBe(400);
      expect(res.headers.get('x-elastic-product')).toBe('Elasticsearch');
      const json = (await res.json()) as { error: { type: string; reason: string }; status: number };
      expect(json.status).toBe(400);
      expect(json.error.reason.length).toBeGreaterThan(10);
    }
    expect((await bulk('{"create":{}}\n{"message":"good after","service":"es-bad-after"}\n')).status).toBe(200);
    await waitFor('the good bulk', async () => (await s.t.redis.xlen(s.t.stream)) === before + 1);
    expect((await s.logs({ service: 'es-bad' })).length).toBe(0);
  });
});
