// npm run bench [-- <scenario> …] [--quick] [--profile]
// Runs the scenarios against real services started as processes on their own database and stream, driven by
// load generators in separate processes; measures the machine's ceilings in the same run; prints a table and
// writes bench/results/latest.json plus a dated copy. Ctrl-C stops everything it started.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { measureCeilings } from './ceiling.js';
import type { Ctx, Scenario } from './lib/context.js';
import { killAllLoads } from './lib/load.js';
import { git, machine, redisPid, versions } from './lib/machine.js';
import { RESULTS_DIR, readLatest, round, tableLines, writeResults, type RunResult, type ScenarioResult } from './lib/results.js';
import { startStack, stopEverything } from './lib/stack.js';
import { fanout } from './scenarios/fanout.js';
import { ingest, ingestEvents } from './scenarios/ingest.js';
import { latency } from './scenarios/latency.js';
import { scale } from './scenarios/scale.js';
import { soak } from './scenarios/soak.js';
import { stats } from './scenarios/stats.js';

const SCENARIOS: Record<string, Scenario> = { ingest, latency, fanout, scale, stats, soak };

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const profile = args.includes('--profile');
const unknown = args.filter((a) => a.startsWith('-') && !['--quick', '--profile'].includes(a));
const names = args.filter((a) => !a.startsWith('-'));
const bad = names.filter((n) => !(n in SCENARIOS));
if (unknown.length > 0 || bad.length > 0) {
  console.error(`unknown ${bad.length ? `scenario ${bad.join(', ')}` : `option ${unknown.join(', ')}`}`);
  console.error(`usage: npm run bench [-- <scenario> …] [--quick] [--profile]; scenarios: ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}
const selected = names.length > 0 ? names : Object.keys(SCENARIOS);

// Fan-out holds 10,000 sockets in the gateway and in the load generators, which inherit this process's limit.
const NEEDED_FDS = 12_000;
// Node raises its soft limit to the hard limit at start-up; when the hard limit itself is too low, run again under
// `ulimit -n` (which needs the right to raise it: root, or a higher system limit).
if (selected.includes('fanout') && !process.env.BENCH_ULIMIT_RAISED) {
  const { spawnSync, execSync } = await import('node:child_process');
  const limit = Number(execSync('ulimit -Sn', { shell: '/bin/sh', encoding: 'utf8' }).trim());
  if (limit < NEEDED_FDS) {
    if (spawnSync('/bin/sh', ['-c', `ulimit -n ${NEEDED_FDS}`]).status === 0) {
      console.log(`raising ulimit -n from ${limit} to ${NEEDED_FDS} for the fanout scenario`);
      process.on('SIGINT', () => {}); // the child gets Ctrl-C too and cleans up; wait for it
      const r = spawnSync('/bin/sh', ['-c', `ulimit -n ${NEEDED_FDS} && exec "$@"`, 'sh', process.execPath, ...process.execArgv, process.argv[1]!, ...args], {
        stdio: 'inherit',
        env: { ...process.env, BENCH_ULIMIT_RAISED: '1' },
      });
      process.exit(r.status ?? 1);
    }
    console.log(`warning: ulimit -n is ${limit} and cannot be raised here; fanout needs ${NEEDED_FDS} file descriptors and may fail`);
  }
}

let stopping = false;
async function abort(signal: string): Promise<void> {
  if (stopping) process.exit(1);
  stopping = true;
  console.error(`\n${signal}: stopping services and load generators, dropping bench databases…`);
  killAllLoads();
  await stopEverything().catch(() => {});
  process.exit(130);
}
process.on('SIGINT', () => void abort('SIGINT'));
process.on('SIGTERM', () => void abort('SIGTERM'));

const stamp = () => new Date().toISOString().slice(11, 19);
const log = (scope: string) => (text: string) => console.log(`${stamp()} [${scope}] ${text}`);

const started = Date.now();
const date = new Date().toISOString();
const m = machine();
const info = await startStack('info', {});
const [v, rpid] = await Promise.all([versions(info.t.pool, info.t.redis), redisPid(info.t.redis)]).finally(() => info.stop());
const g = git();
console.log(`logstream bench ${quick ? '(quick) ' : ''}— ${selected.join(', ')}`);
console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB; load average ${m.loadavgStart}; Node ${v.node}, Redis ${v.redis}, PostgreSQL ${v.postgres}; commit ${g.commit}${g.dirty ? ' (dirty)' : ''}`);
if (m.loadavgStart > 0.5) console.log(`note: the machine is busy (load average ${m.loadavgStart}); figures will be noisy`);
let profileDir: string | undefined;
if (profile) {
  profileDir = `${RESULTS_DIR}profiles/${date.replace(/:/g, '-')}`;
  mkdirSync(profileDir, { recursive: true });
  console.log(`CPU profiles of the services go to ${profileDir}`);
}

const ceilings = await measureCeilings(ingestEvents(quick), log('ceiling'));
const ctx: Ctx = { quick, log: () => {}, ceilings, profileDir, done: {}, previous: readLatest(), redisPid: rpid };
const results: Record<string, ScenarioResult> = {};
for (const name of selected) {
  const t = Date.now();
  const loadavg = round(os.loadavg()[0]!, 2);
  const scoped = log(name);
  scoped('starting');
  let out: ScenarioResult;
  try {
    const r = await SCENARIOS[name]!({ ...ctx, log: scoped });
    out = { name, date: new Date(t).toISOString(), commit: g.commit + (g.dirty ? '-dirty' : ''), quick, seconds: round((Date.now() - t) / 1000), loadavg, ...r };
  } catch (err) {
    if (stopping) break;
    scoped(`failed: ${(err as Error).stack ?? err}`);
    killAllLoads();
    await stopEverything().catch(() => {});
    out = { name, date: new Date(t).toISOString(), commit: g.commit, quick, seconds: round((Date.now() - t) / 1000), loadavg, rows: [], figures: {}, error: (err as Error).message };
  }
  results[name] = out;
  ctx.done[name] = out;
  scoped(`done in ${out.seconds} s`);
}

m.loadavgEnd = round(os.loadavg()[0]!, 2);
const run: RunResult = { date, git: g, quick, machine: m, versions: v, ceilings, scenarios: results };
console.log('');
console.log(
  `ceilings: PostgreSQL INSERT…SELECT ${Math.round(ceilings.pgInsertPerSec).toLocaleString('en')} rows/s (1,000-row statements: ${Math.round(ceilings.pgInsert1kPerSec).toLocaleString('en')}/s); pipelined XADD ${Math.round(ceilings.xaddPerSec).toLocaleString('en')}/s`,
);
for (const line of tableLines(run)) console.log(line);
const files = writeResults(run);
console.log(`\nwrote ${files.latest} and ${files.dated} (${round((Date.now() - started) / 1000)} s)`);
process.exit(Object.values(results).some((r) => r.error) ? 1 : 0);
