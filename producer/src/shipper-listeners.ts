// The listeners outside the producer's own port (issue 14): OTLP/HTTP on OTLP_HTTP_PORT (the port an OpenTelemetry
// SDK ships to with no configuration) and syslog on SYSLOG_PORT. A default port that is taken (a Collector already
// on 4318) is skipped with a warning, so the producer still starts; a port set explicitly must be free.
import { listen } from '@logstream/shared/lifecycle.js';
import type { IngestContext } from './ingest-context.js';
import { createOtlpApp } from './otlp-logs.js';
import { startSyslog } from './syslog-server.js';

export interface ShipperListeners {
  close(): void;
}

export async function startShipperListeners(ctx: IngestContext, host: string, env: NodeJS.ProcessEnv = process.env): Promise<ShipperListeners> {
  const closers: (() => void)[] = [];
  const explicit = (name: string) => env[name] !== undefined && env[name] !== '';
  if (ctx.cfg.OTLP_HTTP_PORT > 0) {
    try {
      const otlp = await listen(createOtlpApp(ctx), ctx.cfg.OTLP_HTTP_PORT, host, 'OTLP_HTTP_PORT');
      closers.push(otlp.close);
      ctx.log.info({ otlpPort: otlp.port }, `OTLP/HTTP logs on ${otlp.url}/v1/logs`);
    } catch (err) {
      if (explicit('OTLP_HTTP_PORT')) throw new Error(`OTLP_HTTP_PORT: ${(err as Error).message}`);
      ctx.log.warn(`OTLP/HTTP port ${ctx.cfg.OTLP_HTTP_PORT} not opened (${(err as Error).message}); POST /v1/logs on the producer's port still works; set OTLP_HTTP_PORT to another port, or 0 for none`);
    }
  }
  if (ctx.cfg.SYSLOG_PORT > 0) {
    // Syslog has no credentials: with INGEST_TOKENS set it stays off unless SYSLOG_PORT asks for it explicitly.
    if (ctx.cfg.INGEST_TOKENS.length > 0 && !explicit('SYSLOG_PORT')) {
      ctx.log.info('syslog port off: INGEST_TOKENS is set and syslog carries no token; set SYSLOG_PORT to open it anyway (trusted networks only)');
    } else {
      try {
        const syslog = await startSyslog(ctx, ctx.cfg.SYSLOG_PORT, host);
        closers.push(syslog.close);
        ctx.log.info({ syslogPort: syslog.port }, `syslog (RFC 5424/3164) on ${host}:${syslog.port}, TCP and UDP`);
      } catch (err) {
        if (explicit('SYSLOG_PORT')) throw new Error(`SYSLOG_PORT ${ctx.cfg.SYSLOG_PORT}: ${(err as Error).message}`);
        ctx.log.warn(`syslog port ${ctx.cfg.SYSLOG_PORT} not opened (${(err as Error).message}); set SYSLOG_PORT to another port, or 0 for none`);
      }
    }
  }
  return { close: () => closers.forEach((c) => c()) };
}
