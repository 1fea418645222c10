// npm run ship: lines piped into it reach the real producer's stream while the pipe is still open, pino lines as
// they are and text as messages, with --service and --level for what a line does not say; invalid events are
// reported by line number and left out; a producer that is not up yet gets the lines once it is.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { startService, stopAll } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
let t: TestEnv;

beforeAll(async () => {
  t = await createTestEnv('ship');
});
afterAll(async () => {
  await stopAll();
  await t.cleanup();
});

interface Shipper {
  proc: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function ship(url: string, ...args: string[]): Shipper {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'cli/src/ship.ts', '--url', url, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  return { proc, stderr: () => err, exited: new Promise((r) => proc.once('exit', (code) => r(code))) };
}

/** The events in the stream, in order (field "e", as the producer writes it). */
async function streamEvents(): Promise<Record<string, unknown>[]> {
  const entries = await t.redis.xrange(t.stream, '-', '+');
  return entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('e') + 1]!));
}

describe('npm run ship', () => {
  it('ships lines as they are written, and reports the invalid ones by line number', async () => {
    const producer = await startService('producer', t.env);
    const s = ship(producer.url, '--service', 'shipped');
    s.proc.stdin!.write('{"level":40,"time":1764180000000,"msg":"pino line","pid":7,"service":"own"}\n');
    s.proc.stdin!.write('plain text line\n\n');
    // Still open: the two events arrive within a batch interval, not at the end of the input.
    const first = await waitFor('two events in the stream', async () => ((await streamEvents()).length === 2 ? streamEvents() : undefined));
    expect(first[0]).toMatchObject({ message: 'pino line', level: 40, service: 'own' });
    expect(first[1]).toMatchObject({ message: 'plain text line', service: 'shipped' });

    // Line 4 is an invalid event (an empty message); the 1,500 lines around it make two batches.
    s.proc.stdin!.write('{"message":""}\n');
    for (let i = 0; i < 1500; i++) s.proc.stdin!.write(`bulk ${i}\n`);
    s.proc.stdin!.end();
    expect(await s.exited).toBe(1);
    expect(s.stderr()).toMatch(/line 4 rejected: message/);
    expect(s.stderr()).toContain('1,502 lines shipped, 1 rejected');
    const all = await streamEvents();
    expect(all.length).toBe(1502);
    expect(all.slice(2).map((e) => e.message)).toEqual(Array.from({ length: 1500 }, (_, i) => `bulk ${i}`));
    await producer.stop();
  });

  it('gives lines without a level the --level given (a process\'s stderr, say), and refuses an unknown one', async () => {
    await t.redis.del(t.stream);
    const producer = await startService('producer', t.env);
    const s = ship(producer.url, '--level', 'error');
    s.proc.stdin!.end('disk full\n{"msg":"pino says warn","level":40}\n{"msg":"no level here"}\n');
    expect(await s.exited).toBe(0);
    expect((await streamEvents()).map((e) => [e.message, e.level])).toEqual([['disk full', 50], ['pino says warn', 40], ['no level here', 50]]);
    const bad = ship(producer.url, '--level', 'loud');
    bad.proc.stdin!.end('x\n');
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain('--level must be one of trace, debug, info, warn, error, fatal');
    await producer.stop();
  });

  it('keeps the lines of a producer that is not up yet and sends them once it is', async () => {
    await t.redis.del(t.stream);
    const port = await freePort();
    const s = ship(`http://127.0.0.1:${port}`);
    s.proc.stdin!.write('waited 1\nwaited 2\n');
    await waitFor('the shipper to notice', () => s.stderr().includes('unreachable'));
    const producer = await startService('producer', { ...t.env, PORT: String(port) });
    await waitFor('both lines in the stream', async () => (await streamEvents()).length === 2);
    s.proc.stdin!.end();
    expect(await s.exited).toBe(0);
    expect((await streamEvents()).map((e) => e.message)).toEqual(['waited 1', 'waited 2']);
    expect(s.stderr()).toContain('2 lines shipped');
    await producer.stop();
  });

  it('finds the producer on PRODUCER_PORT, from the environment or from .env, without --url', async () => {
    await t.redis.del(t.stream);
    const producer = await startService('producer', t.env);
    const run = (cwd: string, env: Record<string, string>, line: string) => {
      const base = { ...process.env };
      for (const name of ['PRODUCER_URL', 'PRODUCER_PORT', 'HOST']) delete base[name];
      const proc = spawn(process.execPath, ['--import', 'tsx', 'cli/src/ship.ts'], { cwd, env: { ...base, ...env }, stdio: ['pipe', 'ignore', 'ignore'] });
      proc.stdin!.end(`${line}\n`);
      return new Promise<number | null>((r) => proc.once('exit', r));
    };
    expect(await run(ROOT, { PRODUCER_PORT: String(producer.port) }, 'via PRODUCER_PORT')).toBe(0);
    // .env is read from the repository root: a copy of the script's tree with a .env of its own (the real root's
    // .env is the developer's).
    const copy = mkdtempSync(join(tmpdir(), 'ship-env-'));
    try {
      for (const f of ['cli/src/ship.ts', 'shared/package.json', 'shared/src/config.ts', 'shared/src/levels.ts', 'shared/src/backoff.ts', 'shared/src/input-adapters.ts', 'shared/src/flatten-attributes.ts', 'shared/src/stream-entry.ts', 'shared/src/keys.ts', 'shared/src/event.ts']) cpSync(`${ROOT}${f}`, join(copy, f));
      writeFileSync(join(copy, 'package.json'), '{"type":"module"}');
      // The copy's own @logstream/shared (REPO_ROOT is where config.ts lies); every other package is the real one.
      mkdirSync(join(copy, 'node_modules/@logstream'), { recursive: true });
      for (const name of readdirSync(`${ROOT}node_modules`)) if (name !== '@logstream') symlinkSync(`${ROOT}node_modules/${name}`, join(copy, 'node_modules', name));
      symlinkSync(join(copy, 'shared'), join(copy, 'node_modules/@logstream/shared'));
      writeFileSync(join(copy, '.env'), `PRODUCER_PORT=${producer.port}\n`);
      expect(await run(copy, {}, 'via .env')).toBe(0);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
    expect((await streamEvents()).map((e) => e.message)).toEqual(['via PRODUCER_PORT', 'via .env']);
    await producer.stop();
  }, 180_000);
});
