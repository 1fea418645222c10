// Listening and graceful shutdown, shared by every service.
import { createServer } from 'node:net';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Logger } from './logger.js';
import { loadUws } from './uws.js';

export interface Listening {
  host: string;
  port: number;
  /** Where to reach it from this machine: the host itself, or localhost for a wildcard address. */
  url: string;
  /** For the start-up line: the URL and who can reach it, e.g. "http://127.0.0.1:8001 (this machine only)". */
  summary: string;
  close(): void;
}

/** uWS's exclusive-port listen option (ListenOptions.LIBUS_LISTEN_EXCLUSIVE_PORT in its index.d.ts). */
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;
type ListenWithOptions = (host: string, port: number, options: number, cb: (socket: us_listen_socket | false) => void) => void;

/**
 * Listen on host:port, or reject with one line saying why not. uWS sets SO_REUSEPORT by default, so a second
 * service on a taken port used to "listen" too and the kernel split the connections between the two (issue 12);
 * the exclusive option makes the bind fail instead. `portVar` names the setting the hint tells to change.
 */
export function listen(app: TemplatedApp, port: number, host: string, portVar = 'PORT'): Promise<Listening> {
  const uws = loadUws();
  return new Promise((resolve, reject) => {
    // The native listen takes (host, port, options, cb); its typings only declare the form without a host.
    (app.listen as unknown as ListenWithOptions).call(app, host, port, LIBUS_LISTEN_EXCLUSIVE_PORT, (socket) => {
      if (!socket) {
        void whyNotListening(host, port, portVar).then((why) => reject(new Error(`cannot listen on ${host}:${port}: ${why}`)));
        return;
      }
      let open = true;
      const actual = uws.us_socket_local_port(socket);
      const wildcard = host === '0.0.0.0' || host === '::';
      const url = `http://${wildcard ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${actual}`;
      const reach = wildcard ? `every interface, ${host}` : /^(127\.|::1$|localhost$)/.test(host) ? 'this machine only; HOST=0.0.0.0 for every interface' : host;
      resolve({
        host,
        port: actual,
        url,
        summary: `${url} (${reach})`,
        close: () => {
          if (open) uws.us_listen_socket_close(socket);
          open = false;
        },
      });
    });
  });
}

/** uWS only says "false": bind the address with Node to learn the reason (only ever run after a failure). */
function whyNotListening(host: string, port: number, portVar: string): Promise<string> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(`port ${port} is already in use (stop what listens there, or set ${portVar} to another port)`);
      else if (err.code === 'EACCES') resolve(`port ${port} needs privileges this process lacks (set ${portVar} to 1024 or above)`);
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') resolve(`${host} is not an address of this machine (set HOST, e.g. 127.0.0.1 or 0.0.0.0)`);
      else resolve(`${err.code ?? err.message} (port ${port})`);
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(`port ${port} could not be bound (it may be in use; set ${portVar} to another port)`)));
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
  // Already draining (a signal came first): the parent leaving must not cut that short.
  onParentExit = () => {
    if (stoppingSince === 0) handler('parent exited');
  };
}

const PARENT_CHECK_MS = 1_000;
/** Until onShutdown has something to drain, a service whose parent is gone just exits. */
let onParentExit: () => void = () => process.exit(1);

/**
 * Stop when the process that started this one is gone. `kill <npm pid>` (or a script's `kill $!`) used to leave the
 * service running, orphaned and still consuming (issue 12): npm passes the signal to its `sh -c`, which dies without
 * passing it on. The npm scripts `exec` node so that the signal reaches it, and this covers what no signal reaches:
 * a SIGKILLed npm, `npm start` or test runner. A service whose parent is init (systemd, a container's PID 1) has
 * nothing to watch; under a supervisor it runs on its own.
 */
function stopWithParent(): void {
  const parent = process.ppid;
  if (parent <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onParentExit();
  }, PARENT_CHECK_MS);
  timer.unref();
}
// From the moment a service loads this module, not only once it is up: one stuck in start-up (a dependency that
// never answers) used to outlive a test run that had given up on it.
stopWithParent();
