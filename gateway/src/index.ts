// Gateway start-up and shutdown only.
import { listenHost, listenPort } from '@logstream/shared/config.js';
import { countConnections, registerCapMetrics, startupCap } from '@logstream/shared/connection-cap.js';
import { capHttp } from '@logstream/shared/http-cap.js';
import { connectionConfig } from '@logstream/shared/db.js';
import { listen, onShutdown } from '@logstream/shared/lifecycle.js';
import { createLogger } from '@logstream/shared/logger.js';
import { prepareDatabase } from '@logstream/shared/prepare-database.js';
import { headLikeGet, loadUws, requireNativeUws } from '@logstream/shared/uws.js';
import { registerGatewayRoutes } from './app.js';
import { DEFAULT_PORT, loadGatewayConfig } from './config.js';
import { LiveHub } from './live/hub.js';
import { gatewayMetrics } from './metrics.js';
import { listenForRows } from './live/notifications.js';
import { ReadGate } from './read-gate.js';
import { createReadPools, SEARCH_SLOTS } from './read-pools.js';
import { loadTextFold } from './text-match.js';

const cfg = loadGatewayConfig();
requireNativeUws('gateway');
const log = createLogger('gateway', cfg.LOG_LEVEL);
const cap = startupCap('gateway', cfg.MAX_CONNECTIONS, log);
const port = listenPort(DEFAULT_PORT);
const host = listenHost();

await prepareDatabase(cfg, log);
const pools = createReadPools(cfg, log);
const metrics = gatewayMetrics();
registerCapMetrics(metrics.registry, cap);
// Up to 100 more HTTP searches wait, each at most 3 s (then 503 busy); replays wait their turn however long.
const searches = new ReadGate(SEARCH_SLOTS.http, 100, 3_000, (reason) => metrics.readsRefused.inc({ reason }));
const replays = new ReadGate(SEARCH_SLOTS.replays, Infinity, Infinity);
const app = capHttp(headLikeGet(loadUws().App()), cap);
const text = await loadTextFold(pools.reads);
if (!text.perCharacter) log.warn('the database lower-cases in context (an ICU collation): /live text matches may differ from /logs for rare strings (final sigma, dotted I); use a libc collation such as C.UTF-8');
const hub = new LiveHub(
  { publisher: app, liveDb: pools.live, replayDb: pools.search, replays, log, metrics, fold: text.fold },
  { softLimit: cfg.LIVE_MAX_BACKPRESSURE, scanIntervalMs: 50, pollIntervalMs: cfg.POLL_INTERVAL_MS },
);
await hub.start();
const listener = listenForRows(connectionConfig(cfg), cfg.NOTIFY_CHANNEL, log, {
  onNotify: () => hub.feed.requestFetch(Date.now()),
  onConnected: (reconnect) => {
    if (reconnect) metrics.listenReconnects.inc();
    // NOTIFYs sent while we were not listening are gone: catch up from our own high-water mark.
    hub.feed.requestFetch();
  },
});
registerGatewayRoutes(app, { cfg, pools, searches, replays, cap, log, metrics, hub, listener });
await listener.ready();
// Before listening: a restart under load has clients connecting from the first moment, and they are not its own.
countConnections(cap, log);
const server = await listen(app, port, host).catch((err: Error) => {
  console.error(`gateway: ${err.message}`);
  process.exit(1);
});
log.info({ host: server.host, port: server.port, head: hub.feed.head }, `gateway listening on ${server.summary}, page at ${server.url}/ui`);

onShutdown(log, async () => {
  server.close();
  hub.stop();
  await listener.close();
  await pools.end();
});

