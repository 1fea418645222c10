// `npm start` (CONTRACT §1): creates the database when missing, runs producer, PROCESSORS processors and gateway on
// the configured ports, prints the URLs, and stops everything on Ctrl-C; with Redis or PostgreSQL unreachable it
// says so in one line and exits.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts } from './helpers/free-port.js';
import { PG_HOST, PG_PORT, PG_USER, REDIS_HOST, REDIS_PORT, waitFor } from './helpers/test-env.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const id = randomBytes(4).toString('hex');
const database = `ls_test_start_${id}`;

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c.toString()));
  child.stderr.on('data', (c: Buffer) => out.push(c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out, exited };
}

afterAll(async () => {
  const redis = new Redis({ host: REDIS_HOST, port: REDIS_PORT });
  await redis.del(`test:start:${id}`, `test:start:${id}:dlq`);
  redis.disconnect();
  const admin = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await admin.end();
});

describe('npm start', () => {
  it('runs the whole stack on the configured ports, creating the database, and stops it on SIGINT', async () => {
    const [producerPort, gatewayPort, processorPort, otlpPort, syslogPort] = await freePorts(5);
    // OTLP and syslog on free ports too: on their defaults (4318, 5514) any other producer on the machine (a bench
    // run, another checkout's tests) holds them, and this producer then never gets ready.
    const stack = start({
      OTLP_HTTP_PORT: String(otlpPort), SYSLOG_PORT: String(syslogPort),
      DB_HOST: PG_HOST, DB_PORT: String(PG_PORT), POSTGRES_USER: PG_USER, POSTGRES_DB: database,
      REDIS_HOST, REDIS_PORT: String(REDIS_PORT), REDIS_STREAM: `test:start:${id}`, REDIS_GROUP: `group-${id}`, NOTIFY_CHANNEL: `logs_${id}`,
      PRODUCER_PORT: String(producerPort), GATEWAY_PORT: String(gatewayPort), PROCESSOR_PORT: String(processorPort), PROCESSORS: '2',
      BLOCK_MS: '200', DATABASE_URL: '', REDIS_URL: '',
    });
    try {
      expect(stack.out.join('')).not.toContain('logstream ready');
      await waitFor('the ready line', () => stack.out.join('').includes('logstream ready'), 150_000).catch((err: Error) => {
        throw new Error(`${err.message}; the stack printed:\n${stack.out.join('').slice(-4000)}`);
      });
      // One line, printed only once every service answers /ready, with the URLs.
      const line = stack.out.join('').split('\n').find((l) => l.startsWith('logstream ready'))!;
      expect(line).toMatch(
        new RegExp(`^logstream ready in [\\d.]+ s: producer http://localhost:${producerPort} · gateway http://localhost:${gatewayPort} · live tail http://localhost:${gatewayPort}/ui · 2 processor\\(s\\), health on ${processorPort}–${processorPort + 1} · Ctrl-C stops everything$`),
      );
      const ready = async (port: number) => (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.status;
      for (const port of [producerPort, gatewayPort, processorPort, processorPort + 1]) expect(await ready(port), `:${port}/ready`).toBe(200);

      expect((await fetch(`http://127.0.0.1:${producerPort}/send?message=via-npm-start`)).status).toBe(202);
      await waitFor('the event through the stack', async () => {
        const body = (await (await fetch(`http://127.0.0.1:${gatewayPort}/logs?q=via-npm-start`)).json()) as { items: unknown[] };
        return body.items.length === 1;
      }, 60_000);
    } finally {
      stack.child.kill('SIGINT');
    }
    expect(await stack.exited).toBe(0);
    // Every child is gone: nothing answers on the ports any more.
    for (const port of [producerPort, gatewayPort, processorPort, processorPort + 1]) {
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    }
    // Four services and a migration on a loaded machine: bounded generously, the speed is not what is tested.
  }, 300_000);

  it('says in one line how to start Redis and PostgreSQL when they are unreachable', async () => {
    const [deadRedis, deadPg] = await freePorts(2);
    const stack = start({ REDIS_HOST: '127.0.0.1', REDIS_PORT: String(deadRedis), DB_HOST: '127.0.0.1', DB_PORT: String(deadPg), DATABASE_URL: '', REDIS_URL: '' });
    expect(await stack.exited).toBe(1);
    const lines = stack.out.join('').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`cannot reach Redis at 127.0.0.1:${deadRedis} or PostgreSQL at 127.0.0.1:${deadPg}`);
    expect(lines[0]).toMatch(/Start them/);
  }, 120_000);

  it('says so while the first run installs the dependencies, however long npm takes', async () => {
    // A copy of the manifest and the installer, without node_modules, and an npm on PATH that takes 16 s to install.
    const dir = mkdtempSync(join(tmpdir(), 'first-run-'));
    try {
      mkdirSync(join(dir, 'scripts'));
      mkdirSync(join(dir, 'bin'));
      cpSync(`${ROOT}package.json`, join(dir, 'package.json'));
      cpSync(`${ROOT}scripts/ensure-install.mjs`, join(dir, 'scripts/ensure-install.mjs'));
      writeFileSync(join(dir, 'package-lock.json'), '{}');
      writeFileSync(join(dir, 'bin/npm'), `#!/bin/sh\necho "npm $*" > "${dir}/npm-args"\nsleep 16\n`, { mode: 0o755 });
      const run = spawnSync(process.execPath, ['scripts/ensure-install.mjs'], { cwd: dir, env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` }, encoding: 'utf8', timeout: 150_000 });
      expect(run.status, run.stderr).toBe(0);
      expect(readFileSync(join(dir, 'npm-args'), 'utf8').trim()).toBe('npm ci --no-audit --no-fund');
      const lines = run.stderr.trim().split('\n');
      expect(lines[0]).toMatch(/^logstream: first run: installing dependencies with `npm ci` \(missing: .+\); this takes a minute or so$/);
      // Something at least every 5 s while npm is silent, then how long it took.
      expect(lines.filter((l) => /^logstream: still installing \(\d+ s\)…$/.test(l)).length).toBeGreaterThanOrEqual(2);
      expect(lines[lines.length - 1]).toMatch(/^logstream: dependencies installed in \d+ s$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe("the services' own logs", () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;

  /** Run the producer until its start-up line is out, then stop it; resolves with what it printed. */
  async function firstLines(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await waitFor('the start-up line', () => /listening on/.test(out), 120_000);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    return out;
  }

  it.skipIf(!hasScript)('are one readable line each on a terminal, JSON lines otherwise', async () => {
    const env = { ...process.env, PORT: '0', LOG_LEVEL: 'info', REDIS_HOST, REDIS_PORT: String(REDIS_PORT), REDIS_STREAM: `test:start:${id}`, REDIS_URL: '' };
    const entry = ['--import', 'tsx', 'producer/src/index.ts'];
    // util-linux `script` gives the service a pseudo-terminal as stdout (and stops it when it is stopped itself).
    const tty = await firstLines('script', ['-qec', `exec node ${entry.join(' ')}`, '/dev/null'], env);
    const plain = tty.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: producer: producer listening on http:\/\/127\.0\.0\.1:\d+ \(this machine only; HOST=0\.0\.0\.0 for every interface\) \{"host":"127\.0\.0\.1","port":\d+,"stream":"test:start:\w+"\}\r?$/m);
    expect(plain).not.toContain('"level":30');
    const piped = await firstLines(process.execPath, entry, env);
    // Every line is one JSON object (connection state changes come first: "redis: connecting", issue 13 point 5).
    const lines = piped.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    const listening = lines.find((l) => /^producer listening on /.test(l.msg));
    expect(listening).toMatchObject({ level: 30, service: 'producer' });
    for (const l of lines) expect(typeof l.time).toBe('number');
  }, 300_000);
});
