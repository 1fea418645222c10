// What a shipper protocol module (loki-push.ts, otlp-logs.ts, elastic-bulk.ts, syslog-server.ts) gets from the
// producer: the one ingest mechanism (validation, limits, rate limits, backpressure, one Redis call per request,
// metrics by transport), so that each module only decodes its protocol into raw events (issue 14).
import type { ConnectionCap } from '@logstream/shared/connection-cap.js';
import type { ValidEvent } from '@logstream/shared/event.js';
import type { Logger } from '@logstream/shared/logger.js';
import type { ProducerConfig } from './config.js';
import type { ProducerMetrics } from './metrics.js';

export interface Accepted {
  accepted: number;
  /** The event ids (UUIDs), one per event in request order: GET /logs/<id> on the gateway finds each stored row. */
  ids: string[];
  /** Idempotency-Key requests only: true when this is a resend of a request already taken (nothing added). */
  duplicate?: boolean;
}

export interface IngestContext {
  cfg: ProducerConfig;
  log: Logger;
  metrics: ProducerMetrics;
  /** Validate raw events all or nothing (a 400 HttpError names every bad one), admit, and publish in one call. */
  ingest(raws: unknown[], token: string | undefined, transport: string, eventIds?: (count: number) => string[]): Promise<Accepted>;
  /**
   * Admit and publish events already validated one by one (protocols that answer per record). `eventIds`: one id per
   * event, the same when a batch is resent, so that storage keeps it once.
   */
  publish(events: ValidEvent[], token: string | undefined, transport: string, eventIds?: (count: number) => string[]): Promise<Accepted>;
  /** Count a refused request in logstream_events_rejected_total. */
  countRejection(err: unknown): void;
  /** The producer's connection cap, which the OTLP port's requests and syslog's TCP connections are under too. */
  cap: ConnectionCap;
}
