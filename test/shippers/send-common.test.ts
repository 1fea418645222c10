// The shared part of every ingest path, through POST and GET /send (issue 14 point 5): level aliases, custom pino
// levels, nested objects flattened, and shipper tokens (Bearer, basic auth with the token as the password).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { startStack, type Stack } from '../helpers/stack.js';

const TOKEN = 'shipper-token-1';
let s: Stack;

beforeAll(async () => {
  s = await startStack('sendcommon', { INGEST_TOKENS: TOKEN });
});
afterAll(async () => s?.stop());

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('POST /send with what shippers send', () => {
  it('accepts basic auth with the token as the password, and refuses a wrong one', async () => {
    const send = (authorization: string) =>
      fetch(`${s.producer.url}/send`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify({ message: `auth ${authorization}`, service: 'auth' }) });
    expect((await send(basic('anyone', TOKEN))).status).toBe(202);
    expect((await send(`Bearer ${TOKEN}`)).status).toBe(202);
    const wrong = await send(basic(TOKEN, 'wrong'));
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe('unauthorized');
    const rows = await s.waitLogs(2, { service: 'auth' });
    expect(rows.map((r) => r.message).sort()).toEqual([`auth ${basic('anyone', TOKEN)}`, `auth Bearer ${TOKEN}`].sort());
  });

  it("stores real pino lines with aliases, custom levels and nested err/req/res as dotted attributes", async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (c, _e, cb) => { lines.push(String(c)); cb(); } });
    const log = pino({ customLevels: { audit: 35 }, base: { service: 'pino-app' }, serializers: { req: (r) => r, res: (r) => r } }, sink);
    log.error({ err: new Error('disk full'), req: { method: 'POST', url: '/upload' }, res: { statusCode: 507 } }, 'upload failed');
    log.audit({ user: 'ana' }, 'audited');
    lines.push(JSON.stringify({ msg: 'from syslog-ng', level: 'warning', service: 'pino-app', time: Date.now() }) + '\n');
    lines.push(JSON.stringify({ msg: 'zap says', level: 'DPANIC', service: 'pino-app' }) + '\n');
    const res = await fetch(`${s.producer.url}/send`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${TOKEN}` }, body: lines.join('') });
    expect(res.status, await res.clone().text()).toBe(202);
    const rows = await s.waitLogs(4, { service: 'pino-app' });
    const [failed, audited, warned, zap] = rows;
    expect(failed).toMatchObject({ message: 'upload failed', level: 'error', service: 'pino-app' });
    expect(failed!.attributes).toMatchObject({ 'err.type': 'Error', 'err.message': 'disk full', 'req.method': 'POST', 'req.url': '/upload', 'res.statusCode': 507 });
    expect(String(failed!.attributes['err.stack'])).toContain('Error: disk full');
    expect(audited).toMatchObject({ message: 'audited', level: 'info', attributes: { user: 'ana', level_number: 35 } });
    expect(warned).toMatchObject({ message: 'from syslog-ng', level: 'warn' });
    expect(zap).toMatchObject({ message: 'zap says', level: 'error' });
  });

  it('GET /send takes aliases and custom numbers too', async () => {
    for (const [level, message] of [['Critical', 'crit-get'], ['45', 'custom-get']]) {
      const res = await fetch(`${s.producer.url}/send?message=${message}&service=get-alias&level=${level}&token=${TOKEN}`);
      expect(res.status).toBe(202);
    }
    const rows = await s.waitLogs(2, { service: 'get-alias' });
    expect(rows.map((r) => [r.message, r.level, r.attributes.level_number ?? null])).toEqual([['crit-get', 'fatal', null], ['custom-get', 'warn', 45]]);
  });
});
