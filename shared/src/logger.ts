import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * The services' own logs: pino JSON lines (epoch-ms `time`) for collectors when stdout is a file, a pipe or a
 * container log; one readable line each (local time, level, service, message, then the fields) when it is a
 * terminal, as under `npm start` or `npm run producer` (issue 12).
 */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  const options = { level, base: { service, pid: process.pid } };
  return process.stdout.isTTY ? pino(options, prettyStream()) : pino(options);
}

function prettyStream(): DestinationStream {
  // Loaded only for a terminal: the JSON path (tests, containers) does not pay for it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as (opts: Record<string, unknown>) => DestinationStream;
  return pretty({
    colorize: true,
    singleLine: true,
    // Synchronous writes: the last lines before process.exit (a failed start-up) are not lost.
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    messageFormat: '{service}: {msg}',
  });
}
