// A private PostgreSQL 15 cluster for fault tests (initdb into a temporary folder, its own port and socket folder),
// so that it can be stopped, SIGKILLed and restarted without disturbing the shared server on 5432.
// initdb and postgres refuse to run as root: when the tests run as root, the cluster runs as the `postgres` user.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  port: number;
  dir: string;
  /** Start (or start again, on the same port and data); resolves when it accepts connections. */
  start(): Promise<void>;
  /** pg_ctl stop -m fast: clients are disconnected, the cluster shuts down cleanly. */
  stop(): Promise<void>;
  /** SIGKILL the postmaster and its backends: crash recovery runs on the next start. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  running(): boolean;
  destroy(): Promise<void>;
}

function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ls-pg-'));
  const data = join(dir, 'data');
  const user = runAs();
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);

  const run = (cmd: string, args: string[]) => {
    const out = spawnSync(join(BIN, cmd), args, { ...user, encoding: 'utf8', timeout: 60_000 });
    if (out.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${out.status}): ${out.stdout}${out.stderr}${existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').slice(-2000) : ''}`);
    return out.stdout;
  };
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);

  // fsync=off only matters for an operating-system crash, which these tests do not simulate; commits stay
  // synchronous, so a SIGKILLed server loses nothing it acknowledged.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60 -c shared_buffers=16MB`;
  const postmasterPid = (): number | undefined => {
    const file = join(data, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    return Number(readFileSync(file, 'utf8').split('\n')[0]);
  };
  const alive = (pid: number | undefined) => {
    if (!pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  const pg: PrivatePostgres = {
    port,
    dir,
    async start() {
      if (pg.running()) return;
      run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
    },
    async stop() {
      if (!pg.running()) return;
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
    },
    async kill() {
      const pid = postmasterPid();
      if (!alive(pid)) return;
      // Backends first, then the postmaster, so no child outlives it holding the shared memory.
      const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
      for (const c of children) {
        try {
          process.kill(c, 'SIGKILL');
        } catch {}
      }
      process.kill(pid!, 'SIGKILL');
      const deadline = Date.now() + 10_000;
      while ((alive(pid) || children.some(alive)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    },
    async restart() {
      await pg.stop();
      await pg.start();
    },
    running: () => alive(postmasterPid()),
    async destroy() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '10', 'stop']);
      } catch {
        await pg.kill();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}
