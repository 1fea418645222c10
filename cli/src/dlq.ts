// `npm run dlq -- list | show <id> | replay <id>… [--set name=value]… | replay --all | purge --yes`
// Dead letters of ${REDIS_STREAM}:dlq (stream and Redis from the usual configuration, .env included).
import { backoffDelay } from '@logstream/shared/backoff.js';
import { baseShape, loadConfig } from '@logstream/shared/config.js';
import { streamKeys } from '@logstream/shared/keys.js';
import { closeRedis, createRedis } from '@logstream/shared/redis.js';
import { getDeadLetter, listDeadLetters, purgeDeadLetters, replayDeadLetter, type DeadLetterEntry } from './dead-letter-admin.js';

const USAGE = `usage: npm run dlq -- <command>
  list [--limit N]                     dead letters: id, original id, deliveries, time, reason
  show <id>                            one dead letter with its original fields
  replay <id>… [--set name=value]…     put entries back on the stream (with fixed fields) and delete them here
  replay --all [--set name=value]…     the same for every dead letter
  purge --yes                          delete every dead letter`;

const cfg = loadConfig(baseShape, 'dlq');
const keys = streamKeys(cfg.REDIS_STREAM);
const [command, ...rest] = process.argv.slice(2);

function fail(message: string, code = 2): never {
  console.error(message);
  process.exit(code);
}

function flag(name: string): boolean {
  const i = rest.indexOf(name);
  if (i < 0) return false;
  rest.splice(i, 1);
  return true;
}

function option(name: string): string[] {
  const out: string[] = [];
  for (let i = rest.indexOf(name); i >= 0; i = rest.indexOf(name)) {
    if (i + 1 >= rest.length) fail(`${name} needs a value`);
    out.push(rest[i + 1]!);
    rest.splice(i, 2);
  }
  return out;
}

/** Redis answers a malformed id with a bare "ERR Invalid stream ID": say what an id looks like instead. */
function checkId(id: string): string {
  if (!/^\d{1,20}(-\d{1,20})?$/.test(id)) fail(`dlq: ${JSON.stringify(id)} is not a dead-letter id: ids look like 1764180000000-0 (the first column of \`npm run dlq -- list\`)`, 2);
  return id;
}

const line = (e: DeadLetterEntry) => `${e.id}\t${e.originalId}\t${e.deliveries}\t${e.failedAt}\t${e.reason.replace(/\s+/g, ' ').slice(0, 160)}`;

if (!command || command === 'help' || command === '--help') fail(USAGE, command ? 0 : 2);

// A one-shot command: three quick reconnects (~1 s in all), then say Redis is down instead of waiting.
const DLQ_RECONNECT = { initialMs: 100, maxMs: 400 };
const redis = createRedis(cfg, { maxRetriesPerRequest: 1, connectTimeout: 3_000, retryStrategy: (n) => (n > 3 ? null : backoffDelay(n, DLQ_RECONNECT)) });
try {
  switch (command) {
    case 'list': {
      const limit = Number(option('--limit')[0] ?? 1000);
      const { total, entries } = await listDeadLetters(redis, keys, limit);
      console.log(`${total} dead letter(s) in ${keys.dlq}`);
      if (entries.length > 0) console.log('id\toriginal id\tdeliveries\tfailed at\treason');
      for (const e of entries) console.log(line(e));
      break;
    }
    case 'show': {
      const id = rest[0] ?? fail('show needs a dead-letter id (see `npm run dlq -- list`)');
      const e = await getDeadLetter(redis, keys, checkId(id));
      if (!e) fail(`no dead letter ${id} in ${keys.dlq}`, 1);
      console.log(JSON.stringify(e, null, 2));
      break;
    }
    case 'replay': {
      const fixes: Record<string, string> = {};
      for (const s of option('--set')) {
        const eq = s.indexOf('=');
        if (eq <= 0) fail(`--set wants name=value, got ${JSON.stringify(s)}`);
        fixes[s.slice(0, eq)] = s.slice(eq + 1);
      }
      const all = flag('--all');
      if (!all && rest.length === 0) fail('replay needs dead-letter ids or --all');
      rest.forEach(checkId);
      const entries: DeadLetterEntry[] = [];
      if (all) entries.push(...(await listDeadLetters(redis, keys, 1_000_000)).entries);
      for (const id of rest) entries.push((await getDeadLetter(redis, keys, id)) ?? fail(`no dead letter ${id} in ${keys.dlq}`, 1));
      for (const e of entries) console.log(`${e.id}\treplayed as ${await replayDeadLetter(redis, keys, e, fixes)} on ${keys.stream}`);
      console.log(`${entries.length} dead letter(s) replayed`);
      break;
    }
    case 'purge': {
      if (!flag('--yes')) {
        const n = await redis.xlen(keys.dlq);
        fail(`this deletes all ${n} dead letter(s) in ${keys.dlq}; run again with --yes to do it`, 1);
      }
      console.log(`${await purgeDeadLetters(redis, keys)} dead letter(s) deleted from ${keys.dlq}`);
      break;
    }
    default:
      fail(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  }
} catch (err) {
  console.error(`dlq: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await closeRedis(redis);
}
