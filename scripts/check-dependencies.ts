// Before starting the stack: are Redis and PostgreSQL reachable? If not, one clear line that says how to start them.
import net from 'node:net';
import type { BaseConfig } from '@logstream/shared/config.js';

function reachable(host: string, port: number, timeoutMs = 1_500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function endpoint(url: string | undefined, host: string, port: number, defaultPort: number): [string, number] {
  if (!url) return [host, port];
  const u = new URL(url);
  return [u.hostname || host, Number(u.port) || defaultPort];
}

/** undefined when both are reachable, otherwise the message to print. */
export async function checkDependencies(cfg: BaseConfig): Promise<string | undefined> {
  const [rh, rp] = endpoint(cfg.REDIS_URL, cfg.REDIS_HOST, cfg.REDIS_PORT, 6379);
  const [ph, pp] = endpoint(cfg.DATABASE_URL, cfg.DB_HOST, cfg.DB_PORT, 5432);
  const [redisOk, pgOk] = await Promise.all([reachable(rh, rp), reachable(ph, pp)]);
  const missing = [!redisOk && `Redis at ${rh}:${rp}`, !pgOk && `PostgreSQL at ${ph}:${pp}`].filter(Boolean);
  if (missing.length === 0) return undefined;
  return (
    `logstream: cannot reach ${missing.join(' or ')}. Start them (e.g. \`docker compose up -d redis postgres\`, ` +
    `or \`redis-server --daemonize yes\` and \`pg_ctlcluster 15 main start\`) or set REDIS_URL / DATABASE_URL in .env.`
  );
}
