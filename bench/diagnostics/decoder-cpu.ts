// node --import tsx bench/diagnostics/decoder-cpu.ts [rounds]
// CPU per 1,000 events of each ingest path's decoding in this one process, without HTTP, Redis or PostgreSQL: the
// body (bench/lib/protocol-bodies.ts) → raw events → the shared validation (parseEvent), plus the body-derived
// event ids of the shipper paths. What the shippers scenario's producer CPU ratio is made of, measured without the
// noise of the other processes, for before/after figures of a decoder change.
import { parseEvent } from '@logstream/shared/event.js';
import { httpBody, syslogFrames, type HttpProtocol } from '../lib/protocol-bodies.js';
import { decodeNdjson } from '../../producer/src/decode-events.js';
import { parseBulk } from '../../producer/src/elastic-bulk.js';
import { decodeLokiJson, decodeLokiProtobuf, lokiEntryToEvent } from '../../producer/src/loki-push.js';
import { decodeOtlp, otlpToEvents } from '../../producer/src/otlp-logs.js';
import { bodyEventIds } from '../../producer/src/shipper-body.js';
import { serviceName } from '../../producer/src/shipper-fields.js';
import { validateSyslog } from '../../producer/src/syslog-event.js';
import { createFramer, parseSyslog } from '../../producer/src/syslog-parse.js';

const ROUNDS = Number(process.argv[2] ?? 30);
const LIMIT = 10 * 1024 * 1024;
const N = 1000;

const decoders: Record<HttpProtocol | 'syslog-tcp', (body: Buffer) => number> = {
  'send-ndjson': (b) => validate(decodeNdjson(b.toString())),
  'loki-protobuf': (b) => validate(decodeLokiProtobuf(b, LIMIT).map((e) => lokiEntryToEvent(e)), b),
  'loki-json': (b) => validate(decodeLokiJson(b.toString()).map((e) => lokiEntryToEvent(e)), b),
  'otlp-protobuf': (b) => validate(otlpToEvents(decodeOtlp(b, true)), b),
  'otlp-json': (b) => validate(otlpToEvents(decodeOtlp(b, false)), b),
  'elastic-bulk': (b) => validate(parseBulk(b.toString(), undefined).map((i) => i.event!), b),
  'syslog-tcp': (b) => {
    // As the listener validates (syslog-server.ts): the service name made valid, then validateSyslog.
    let ok = 0;
    const framer = createFramer(LIMIT, (f) => {
      const raw = parseSyslog(f.toString());
      if (typeof raw.service === 'string') raw.service = serviceName(raw.service);
      if (validateSyslog(raw).ok) ok++;
    }, () => {});
    framer.push(b);
    return ok;
  },
};

function validate(raws: unknown[], idsOf?: Buffer): number {
  let ok = 0;
  for (const raw of raws) if (parseEvent(raw).ok) ok++;
  if (idsOf) bodyEventIds('bench', undefined, idsOf)(raws.length);
  return ok;
}

const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};
console.log(`CPU s per 1,000 events, median of ${ROUNDS} bodies (decode + validate + event ids)`);
const results: Record<string, number> = {};
for (const [name, decode] of Object.entries(decoders)) {
  const bodies = Array.from({ length: ROUNDS }, (_, k) => (name === 'syslog-tcp' ? syslogFrames(k * N, N) : httpBody(name as HttpProtocol, k * N, N).body));
  for (const b of bodies.slice(0, 5)) decode(b); // warm
  const times = bodies.map((b) => {
    const t = cpu();
    if (decode(b) !== N) throw new Error(`${name}: not ${N} valid events`);
    return cpu() - t;
  });
  times.sort((a, b) => a - b);
  results[name] = times[times.length >> 1]!;
}
for (const [name, s] of Object.entries(results)) console.log(`${name.padEnd(14)} ${s.toFixed(4)} s  ${(s / results['send-ndjson']!).toFixed(2)}× /send`);
