// Listening and graceful shutdown, shared by every service.
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Logger } from './logger.js';
import { loadUws } from './uws.js';

export interface Listening {
  port: number;
  close(): void;
}

export function listen(app: TemplatedApp, port: number, host = '0.0.0.0'): Promise<Listening> {
  const uws = loadUws();
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket: us_listen_socket | false) => {
      if (!socket) {
        reject(new Error(`cannot listen on ${host}:${port}: the port is in use or not allowed (set PORT to another port)`));
        return;
      }
      let open = true;
      resolve({
        port: uws.us_socket_local_port(socket),
        close: () => {
          if (open) uws.us_listen_socket_close(socket);
          open = false;
        },
      });
    });
  });
}

/**
 * Run `stop` once on SIGTERM or SIGINT, then exit; a second signal a second or more later exits at once. Ctrl-C under
 * `npm start` reaches a service twice within milliseconds (the terminal's SIGINT to the whole process group, then
 * start.ts's SIGTERM): that must not cut the drain short.
 */
export function onShutdown(log: Logger, stop: () => Promise<void>, timeoutMs = 15_000): void {
  let stoppingSince = 0;
  const handler = (signal: string) => {
    if (stoppingSince > 0) {
      if (Date.now() - stoppingSince >= 1_000) process.exit(1);
      return;
    }
    stoppingSince = Date.now();
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}
