// A TCP port nobody listens on right now (the OS picks it), for private Redis and PostgreSQL instances.
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * `n` distinct free ports: each listener is held until all are picked, so the OS cannot hand the same port out twice
 * (seen in a clean-clone run: start.test.ts got one port for PORT and SYSLOG_PORT from five freePort() calls in a row,
 * and the producer stopped with EADDRINUSE).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        const srv = createServer();
        srv.unref();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve(srv));
      }),
    ),
  );
  const ports = servers.map((s) => {
    const addr = s.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
