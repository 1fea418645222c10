// Debian's rsyslog and syslog-ng forwarding to the syslog port with the configuration the README gives (its
// "Send from your shipper" blocks, read from README.md, only the port changed), fed by util-linux `logger` on a
// local TCP input; the rows are read back through /logs with every mapped field checked. Each test is skipped,
// saying so, when its daemon is not installed (the two conflict as Debian packages: .ci/run installs rsyslog and
// unpacks syslog-ng-core beside it, under SYSLOG_NG_ROOT).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/test-env.js';

const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const RSYSLOGD = '/usr/sbin/rsyslogd';
/** The system package's binary, or one unpacked from syslog-ng-core under SYSLOG_NG_ROOT (default /opt/syslog-ng). */
const SYSLOG_NG_ROOT = existsSync('/usr/sbin/syslog-ng') ? '/' : (process.env.SYSLOG_NG_ROOT ?? '/opt/syslog-ng');
const SYSLOG_NG = join(SYSLOG_NG_ROOT, 'usr/sbin/syslog-ng');

if (!existsSync(RSYSLOGD)) console.warn(`skipping the rsyslog test: ${RSYSLOGD} is missing (apt-get install rsyslog)`);
if (!existsSync(SYSLOG_NG)) console.warn(`skipping the syslog-ng test: ${SYSLOG_NG} is missing (apt-get install syslog-ng-core, or unpack it under SYSLOG_NG_ROOT)`);

/** The README's fenced block whose first line starts with `# <name>`, without that line, the port set to `port`. */
function readmeConfig(name: string, port: number): string {
  const block = [...README.matchAll(/```[a-z]*\n(# [^\n]*\n[\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.startsWith(`# ${name}`));
  if (!block) throw new Error(`README.md has no block starting with "# ${name}"`);
  expect(block).toContain('5514');
  return block.split('\n').slice(1).join('\n').replaceAll('5514', String(port));
}

let s: Stack;
let port: number;
beforeAll(async () => {
  port = await freePort();
  s = await startStack('syslogd', { SYSLOG_PORT: String(port) });
});
afterAll(async () => s?.stop());

const listening = (p: number) => () => new Promise<boolean>((resolve) => {
  const c = connect(p, '127.0.0.1', () => { c.destroy(); resolve(true); });
  c.on('error', () => resolve(false));
});

/** Run a daemon until `body` is done; its output is shown when the test fails. */
async function withDaemon(cmd: string, args: string[], env: Record<string, string>, inPort: number, body: () => Promise<void>): Promise<void> {
  const out: string[] = [];
  const daemon: ChildProcess = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout!.on('data', (c: Buffer) => out.push(c.toString()));
  daemon.stderr!.on('data', (c: Buffer) => out.push(c.toString()));
  const exited = new Promise((r) => daemon.once('exit', r));
  try {
    await waitFor(`${cmd} listening on ${inPort}`, listening(inPort), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${out.join('')}`);
    });
    await body();
  } finally {
    daemon.kill('SIGTERM');
    await exited;
  }
}

const logger = (inPort: number, ...args: string[]) => promisify(execFile)('logger', ['-n', '127.0.0.1', '-P', String(inPort), '--tcp', ...args], { timeout: 10_000 });

async function expectForwarded(service: string): Promise<void> {
  const rows = await s.waitLogs(2, { service });
  const by = (m: string) => rows.find((r) => r.message === m);
  expect(by('disk almost full'), JSON.stringify(rows)).toMatchObject({ level: 'warn', service, attributes: { facility: 'local5', procid: '99' } });
  expect(by('cannot write')).toMatchObject({ level: 'error', service, attributes: { facility: 'daemon' } });
  for (const r of rows) {
    expect(typeof r.attributes.hostname).toBe('string');
    expect(Math.abs(Date.parse(r.timestamp) - Date.parse(r.received_at))).toBeLessThan(60_000);
  }
}

describe('syslog daemons, configured as the README says', () => {
  it.skipIf(!existsSync(RSYSLOGD))('rsyslog: omfwd, TCP, octet-counted, RFC 5424', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rsyslog-'));
    const inPort = await freePort();
    try {
      writeFileSync(join(dir, 'rsyslog.conf'), [
        `global(workDirectory="${dir}")`,
        'module(load="imtcp")',
        `input(type="imtcp" port="${inPort}" address="127.0.0.1")`,
        readmeConfig('rsyslog', port),
      ].join('\n'));
      await withDaemon(RSYSLOGD, ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslog.pid')], {}, inPort, async () => {
        await logger(inPort, '--rfc3164', '-t', 'via-rsyslog', '-p', 'local5.warning', '--id=99', 'disk almost full');
        await logger(inPort, '--rfc3164', '-t', 'via-rsyslog', '-p', 'daemon.err', 'cannot write');
        await expectForwarded('via-rsyslog');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!existsSync(SYSLOG_NG))('syslog-ng: the syslog() destination over TCP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syslog-ng-'));
    const inPort = await freePort();
    try {
      writeFileSync(join(dir, 'syslog-ng.conf'), [
        '@version: 3.38',
        `source s_src { network(ip("127.0.0.1") port(${inPort}) transport("tcp")); };`,
        readmeConfig('syslog-ng', port),
      ].join('\n'));
      const lib = join(SYSLOG_NG_ROOT, 'usr/lib/syslog-ng');
      const args = ['-F', '--no-caps', '-f', join(dir, 'syslog-ng.conf'), `--module-path=${join(lib, '3.38')}`, `--persist-file=${join(dir, 'persist')}`, `--pidfile=${join(dir, 'pid')}`, `--control=${join(dir, 'ctl')}`];
      await withDaemon(SYSLOG_NG, args, { LD_LIBRARY_PATH: lib }, inPort, async () => {
        await logger(inPort, '--rfc3164', '-t', 'via-syslog-ng', '-p', 'local5.warning', '--id=99', 'disk almost full');
        await logger(inPort, '--rfc3164', '-t', 'via-syslog-ng', '-p', 'daemon.err', 'cannot write');
        await expectForwarded('via-syslog-ng');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
