// The Redis ceiling: pipelined XADD of the same entries the producer writes (one JSON field per event), with no
// HTTP, no validation and no MULTI, from a separate process like the producer. The stream is deleted afterwards.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { EVENT_FIELD } from '@logstream/shared/keys.js';
import { LEVEL_VALUES } from '@logstream/shared/levels.js';
import { finish, params, wallMs } from '../lib/load-child.js';
import { benchEvent } from '../lib/payload.js';

const p = params<{ host: string; port: number; stream: string; total: number; batch: number; concurrency: number }>();
const redis = new Redis({ host: p.host, port: p.port });

const now = Date.now();
const BODIES = 20;
const entries = Array.from({ length: BODIES * p.batch }, (_, i) => {
  const e = benchEvent(i);
  return JSON.stringify({ eid: randomUUID(), message: e.message, level: LEVEL_VALUES[e.level], service: e.service, ts: now, rt: now, attributes: e.attributes });
});

let next = 0;
const t0 = wallMs();
async function worker(): Promise<void> {
  while (next < p.total) {
    const from = next % entries.length;
    next += p.batch;
    const pipe = redis.pipeline();
    for (let i = 0; i < p.batch; i++) pipe.xadd(p.stream, '*', EVENT_FIELD, entries[(from + i) % entries.length]!);
    await pipe.exec();
  }
}
await Promise.all(Array.from({ length: p.concurrency }, worker));
const seconds = (wallMs() - t0) / 1000;
await redis.del(p.stream);
redis.disconnect();
finish({ entries: next, seconds, perSec: next / seconds });
