// The shipper protocols served on the producer's port (issue 14). Each module only decodes; ingest is shared.
import type { TemplatedApp } from '@logstream/shared/uws.js';
import type { IngestContext } from './ingest-context.js';
import { mountElastic } from './elastic-bulk.js';
import { mountLoki } from './loki-push.js';
import { mountOtlp } from './otlp-logs.js';

export function mountShipperRoutes(app: TemplatedApp, ctx: IngestContext): void {
  mountLoki(app, ctx);
  mountOtlp(app, ctx);
  mountElastic(app, ctx);
}
