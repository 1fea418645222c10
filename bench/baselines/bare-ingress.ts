// The bare uWS server's front door in its own process (the fan-out scenario): GET /send and POST /send answered
// 202 here at once, the events handed to the publishing process (bare-uws.ts, which forks this) over the IPC
// channel, as logstream's producer answers in a process of its own and the gateway only reads rows. With /send in
// the publishing process, its answers waited behind the publishes to 10,000 sockets (GET /send answered in p50
// 39-151 ms, p99 0.4-1.1 s against the producer's 3 / 13 ms), the load generator's 8 connections queued the rest,
// and the bare server's p99 moved 0.5-1.3 s between repetitions while the gateway's stayed at 314-333 ms.
// Reports {type:'listening', port} to the parent, then {type:'events', events: [message, service][]} per request.
import { loadUws } from '@logstream/shared/uws.js';
import { serveBareSend } from './bare-send.js';

const uws = loadUws();
const app = uws.App();
serveBareSend(app, (events) => process.send?.({ type: 'events', events }));

const port = await new Promise<number>((resolve, reject) =>
  app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(uws.us_socket_local_port(socket)) : reject(new Error('bare uWS ingress: cannot listen')))),
);
process.send?.({ type: 'listening', port });
// The publisher going away (stopped, killed) takes this process with it.
process.on('disconnect', () => process.exit(0));
