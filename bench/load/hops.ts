// The bare hops a live event cannot avoid (issue 17), with the clients the services use, one round at a time
// (each round unloaded: the cost of the hop itself, not of a queue), send and receive in this one process:
// - redis: XADD of one entry → the XREADGROUP … BLOCK of a second ioredis connection, as producer → processor;
// - postgres: one statement that INSERTs a row and NOTIFYs (as the processors' store statement does) → LISTEN on
//   a second pg connection, as processor → gateway.
// The third hop, a uWS WebSocket send → receive, is load/latency.ts against bench/baselines/bare-uws.ts.
import pg from 'pg';
import { Redis } from 'ioredis';
import { Histogram } from '../lib/histogram.js';
import { finish, params } from '../lib/load-child.js';

const p = params<{
  redis: { host: string; port: number; stream: string };
  pg: { host: string; port: number; user: string; database: string; channel: string };
  seconds: number;
  warmupRounds: number;
}>();

/** Rounds one after the other for `seconds` after the warm-up; each returns its own duration in ms. */
async function rounds(round: (seq: number) => Promise<number>): Promise<Histogram> {
  const latency = new Histogram();
  for (let seq = 0; seq < p.warmupRounds; seq++) await round(seq);
  const end = performance.now() + p.seconds * 1000;
  for (let seq = p.warmupRounds; performance.now() < end; seq++) latency.record(await round(seq));
  return latency;
}

async function redisHop(): Promise<Histogram> {
  const { host, port, stream } = p.redis;
  const writer = new Redis({ host, port });
  const reader = new Redis({ host, port });
  await writer.xgroup('CREATE', stream, 'hops', '$', 'MKSTREAM');
  try {
    return await rounds(async (seq) => {
      const read = reader.xreadgroup('GROUP', 'hops', 'c', 'COUNT', 1, 'BLOCK', 5000, 'STREAMS', stream, '>') as Promise<unknown>;
      const t = performance.now();
      await writer.xadd(stream, '*', 's', String(seq));
      if (!(await read)) throw new Error('XREADGROUP returned nothing within 5 s');
      return performance.now() - t;
    });
  } finally {
    await writer.del(stream);
    writer.disconnect();
    reader.disconnect();
  }
}

async function pgHop(): Promise<Histogram> {
  const { channel, ...conn } = p.pg;
  const table = `bench_hops_${process.pid}`;
  const sender = new pg.Client(conn);
  const listener = new pg.Client(conn);
  await Promise.all([sender.connect(), listener.connect()]);
  await sender.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`);
  await listener.query(`LISTEN ${channel}_hops`);
  let arrived: ((at: number) => void) | undefined;
  listener.on('notification', () => arrived?.(performance.now()));
  const sql = `WITH i AS (INSERT INTO ${table} (id) VALUES ($1) RETURNING id) SELECT pg_notify('${channel}_hops', id::text) FROM i`;
  try {
    return await rounds(async (seq) => {
      const notified = new Promise<number>((resolve) => (arrived = resolve));
      const t = performance.now();
      await sender.query(sql, [seq]);
      return (await notified) - t;
    });
  } finally {
    await sender.query(`DROP TABLE ${table}`);
    await Promise.all([listener.end(), sender.end()]);
  }
}

const redis = await redisHop();
const postgres = await pgHop();
finish({ redis: redis.summary(), postgres: postgres.summary() });
