// OTLP/HTTP logs (issue 14 point 2) with the real OpenTelemetry SDK and its JSON and protobuf exporters, and with
// pino-opentelemetry-transport in its own process; rows read back through the gateway's /logs.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otlpExportRequest, otlpExportResponse, rpcStatus } from '../../producer/src/proto.js';
import { freePort } from '../helpers/free-port.js';
import { startStack, type Stack } from '../helpers/stack.js';

const TOKEN = 'otlp-token';
const RATE = 2000;
let s: Stack;
let otlpPort: number;

beforeAll(async () => {
  otlpPort = await freePort();
  s = await startStack('otlp', { INGEST_TOKENS: TOKEN, INGEST_RATE_LIMIT: String(RATE), OTLP_HTTP_PORT: String(otlpPort) });
});
afterAll(async () => s?.stop());

const auth = { authorization: `Bearer ${TOKEN}` };

async function emitWith(exporter: LogRecordExporter, service: string, emit: (logger: ReturnType<LoggerProvider['getLogger']>) => void) {
  const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': service, 'host.name': 'node-1' }), processors: [new BatchLogRecordProcessor({ exporter })] });
  emit(provider.getLogger('checkout', '1.2.3'));
  await provider.forceFlush();
  await provider.shutdown();
}

describe('OTLP/HTTP logs', () => {
  it('stores what the SDK sends as JSON (gzip) to /v1/logs on the producer port, mapping every field', async () => {
    const exporter = new JsonExporter({ url: `${s.producer.url}/v1/logs`, headers: auth, compression: 'gzip' as never });
    const traceId = '5b8efff798038103d269b633813fc60c';
    const spanId = 'eee19b7ec3c1b174';
    const spanCtx = trace.setSpanContext(context.active(), { traceId, spanId, traceFlags: TraceFlags.SAMPLED });
    await emitWith(exporter, 'otel json svc', (logger) => {
      logger.emit({ severityNumber: SeverityNumber.WARN2, severityText: 'WARN', body: 'payment slow', timestamp: new Date('2025-11-26T18:00:00.123Z'), attributes: { 'http.method': 'POST', retries: 3, ok: false }, context: spanCtx });
      logger.emit({ severityNumber: SeverityNumber.FATAL4, body: { order: 42, items: ['a', 'b'] }, timestamp: new Date('2025-11-26T18:00:01.000Z') });
      logger.emit({ severityText: 'Error', body: 'text only severity', timestamp: new Date('2025-11-26T18:00:02.000Z') });
      logger.emit({ severityNumber: SeverityNumber.TRACE, body: 'tracing', timestamp: new Date('2025-11-26T18:00:03.000Z') });
    });
    const rows = await s.waitLogs(4, { service: 'otel_json_svc' });
    expect(rows.map((r) => [r.message, r.level, r.timestamp])).toEqual([
      ['payment slow', 'warn', '2025-11-26T18:00:00.123Z'],
      ['{"order":42,"items":["a","b"]}', 'fatal', '2025-11-26T18:00:01.000Z'],
      ['text only severity', 'error', '2025-11-26T18:00:02.000Z'],
      ['tracing', 'trace', '2025-11-26T18:00:03.000Z'],
    ]);
    expect(rows[0]!.attributes).toMatchObject({ 'http.method': 'POST', retries: 3, ok: false, trace_id: traceId, span_id: spanId, 'host.name': 'node-1', 'otel.scope.name': 'checkout', 'otel.scope.version': '1.2.3' });
    expect(rows[0]!.attributes['service.name']).toBeUndefined();
    expect(rows[1]!.attributes.trace_id).toBeUndefined();
  });

  it('stores what the SDK sends as protobuf to OTLP_HTTP_PORT; kvlist bodies and attributes flattened', async () => {
    const exporter = new ProtoExporter({ url: `http://127.0.0.1:${otlpPort}/v1/logs`, headers: auth });
    await emitWith(exporter, 'otel-proto', (logger) => {
      logger.emit({ severityNumber: SeverityNumber.INFO, body: 'proto hello', attributes: { user: { id: 7, roles: ['admin'] }, big: 2 ** 40, ratio: 0.5 } });
      logger.emit({ severityNumber: SeverityNumber.ERROR3, body: 'proto error', observedTimestamp: new Date('2025-11-26T18:00:05.000Z'), timestamp: new Date('2025-11-26T18:00:04.500Z') });
    });
    const rows = await s.waitLogs(2, { service: 'otel-proto' });
    expect(rows.map((r) => [r.message, r.level])).toEqual([['proto hello', 'info'], ['proto error', 'error']]);
    expect(rows[0]!.attributes).toMatchObject({ 'user.id': 7, 'user.roles': '["admin"]', big: 2 ** 40, ratio: 0.5, 'host.name': 'node-1' });
    expect(rows[1]!.timestamp).toBe('2025-11-26T18:00:04.500Z');
    const other = await fetch(`http://127.0.0.1:${otlpPort}/v1/traces`, { method: 'POST' });
    expect(other.status).toBe(404);
    await other.arrayBuffer();
  });

  it('stores what pino-opentelemetry-transport sends from another process', async () => {
    const script = `
      import pino from 'pino';
      const transport = pino.transport({ target: 'pino-opentelemetry-transport', options: { resourceAttributes: { 'service.name': 'pino-otel' } } });
      const log = pino(transport);
      log.info({ order: { id: 42 } }, 'order placed');
      log.error({ err: new Error('payment declined') }, 'payment failed');
      // pino ends the transport at exit; the transport flushes its batch before the worker stops.`;
    const run = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: process.cwd(),
      env: { ...process.env, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `http://127.0.0.1:${otlpPort}/v1/logs`, OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${TOKEN}` },
      timeout: 30_000,
    }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`${err.message}\n${err.stderr ?? ''}`);
    });
    expect(run.stderr).toBe('');
    const rows = await s.waitLogs(2, { service: 'pino-otel' });
    expect(rows.map((r) => [r.message, r.level])).toEqual([['order placed', 'info'], ['payment failed', 'error']]);
    expect(rows[0]!.attributes['order.id']).toBe(42);
    expect(JSON.stringify(rows[1]!.attributes)).toContain('payment declined');
  });

  const record = (body: unknown, extra: object = {}) => ({ body: body === undefined ? undefined : { stringValue: body }, severityNumber: 9, ...extra });
  const request = (records: object[]) => ({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'otlp-partial' } }] }, scopeLogs: [{ logRecords: records }] }] });

  it('answers partialSuccess for invalid records and stores the valid ones (JSON and protobuf)', async () => {
    const json = await fetch(`${s.producer.url}/v1/logs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(request([record('kept json'), record(undefined), record('bad ts', { timeUnixNano: '99999999999999999999' })])) });
    expect(json.status).toBe(200);
    const answer = (await json.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    expect(answer.partialSuccess.rejectedLogRecords).toBe('2');
    expect(answer.partialSuccess.errorMessage).toMatch(/log record 1: message/);
    const pb = otlpExportRequest.encode(otlpExportRequest.fromObject(request([record('kept proto', { traceId: Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex') }), record('x'.repeat(70_000))]))).finish();
    const proto = await fetch(`http://127.0.0.1:${otlpPort}/v1/logs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-protobuf' }, body: Buffer.from(pb) });
    expect(proto.status).toBe(200);
    expect(proto.headers.get('content-type')).toBe('application/x-protobuf');
    const decoded = otlpExportResponse.toObject(otlpExportResponse.decode(new Uint8Array(await proto.arrayBuffer())), { longs: String }) as { partialSuccess: { rejectedLogRecords: string } };
    expect(decoded.partialSuccess.rejectedLogRecords).toBe('1');
    const full = await fetch(`${s.producer.url}/v1/logs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(request([record('all good')])) });
    expect(await full.json()).toEqual({});
    const rows = await s.waitLogs(3, { service: 'otlp-partial' });
    expect(rows.map((r) => r.message)).toEqual(['kept json', 'kept proto', 'all good']);
    expect(rows[1]!.attributes.trace_id).toBe('0102030405060708090a0b0c0d0e0f10');
  });

  it('answers 400 with a google.rpc.Status for a malformed body, 429 with Retry-After over the rate, and stores nothing of them', async () => {
    // Entries ever added (processors trim what they stored, so XLEN can shrink meanwhile).
    const added = async () => {
      const info = (await s.t.redis.xinfo('STREAM', s.t.stream)) as unknown[];
      return Number(info[info.indexOf('entries-added') + 1]);
    };
    const before = await added();
    const good = otlpExportRequest.encode(otlpExportRequest.fromObject(request([record('never stored')]))).finish();
    const truncated = await fetch(`${s.producer.url}/v1/logs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-protobuf' }, body: Buffer.from(good.subarray(0, good.length - 3)) });
    expect(truncated.status).toBe(400);
    const status = rpcStatus.toObject(rpcStatus.decode(new Uint8Array(await truncated.arrayBuffer()))) as { code: number; message: string };
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/malformed protobuf/);
    const badJson = await fetch(`${s.producer.url}/v1/logs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"resourceLogs":[' });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { message: string }).message).toMatch(/malformed JSON/);
    const notGzip = await fetch(`${s.producer.url}/v1/logs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: '{}' });
    expect(notGzip.status).toBe(400);
    await notGzip.arrayBuffer();
    const unauth = await fetch(`${s.producer.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(unauth.status).toBe(401);
    await unauth.arrayBuffer();
    const send = (n: number, what: string) =>
      fetch(`${s.producer.url}/v1/logs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(request(Array.from({ length: n }, (_, i) => record(`${what} ${i}`)))) });
    // A batch bigger than the rate can ever allow is told so (413, issue 11 point 9), not 429 forever.
    const tooBig = await send(RATE + 1, 'too big');
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as { message: string }).message).toMatch(/at most 2000 events per request/);
    // Batches that fit, a full second's worth each, soon go over the rate (each that is taken is stored).
    let taken = 0;
    let flood = await send(RATE, 'flood');
    for (let i = 0; flood.status === 200 && i < 20; i++) {
      taken++;
      await flood.arrayBuffer();
      flood = await send(RATE, `flood${i}`);
    }
    expect(taken).toBeGreaterThan(0);
    expect(flood.status).toBe(429);
    expect(Number(flood.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await flood.json()) as { code: number }).code).toBe(8);
    expect(await added()).toBe(before + taken * RATE);
  });
});
