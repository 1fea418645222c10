// npm run bench [-- <scenario> …] [--quick] [--profile]
// npm run bench -- --compare <older.json> [<newer.json>]
// Runs the scenarios (bench/scenarios/index.ts) against real services started as processes on their own database
// and stream, driven by load generators in separate processes. Each scenario repeats its measured part and
// measures its own baseline in the same repetition; the headline figures are the ratios (issue 17). Prints the
// tables and writes bench/results/latest.json plus a dated copy, after every scenario (a stopped run keeps what
// it finished). Ctrl-C stops everything it started.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { compareRuns, compareTableLines } from './lib/compare.js';
import type { Ctx } from './lib/context.js';
import { killAllLoads } from './lib/load.js';
import { cpuShares, cpuTimes, git, machine, redisPid, singleCoreLoop, versions } from './lib/machine.js';
import { figureTableLines, LATEST, RESULTS_DIR, ratioTableLines, readLatest, readRun, round, writeResults, type RunResult, type ScenarioResult } from './lib/results.js';
import { startStack, stopEverything } from './lib/stack.js';
import { MIN_CHANGE } from './lib/stats.js';
import { expectedSeconds, REFERENCE_LOOP_MOPS, SCENARIOS, scenarioNames } from './scenarios/index.js';

const args = process.argv.slice(2);
const usage = () =>
  [
    'usage: npm run bench [-- <scenario> …] [--quick] [--profile]',
    '       npm run bench -- --compare <older.json> [<newer.json, default bench/results/latest.json>]',
    'scenarios:',
    ...SCENARIOS.map((s) => `  ${s.name.padEnd(8)} ${s.about}`),
  ].join('\n');

if (args.includes('--compare')) {
  const files = args.filter((a) => a !== '--compare');
  if (files.length < 1 || files.length > 2 || files.some((f) => f.startsWith('-'))) {
    console.error(usage());
    process.exit(2);
  }
  const [olderFile, newerFile = LATEST] = files as [string, string?];
  let older: RunResult, newer: RunResult;
  try {
    [older, newer] = [readRun(olderFile), readRun(newerFile)];
  } catch (err) {
    console.error(`cannot read a run: ${(err as Error).message}`);
    process.exit(2);
  }
  const label = (r: RunResult) => `${r.date.slice(0, 16).replace('T', ' ')}${r.quick ? ' quick' : ''}`;
  console.log(`older: ${olderFile} (${label(older)}, ${older.machine.cpu}, load average ${older.machine.loadavgStart})`);
  console.log(`newer: ${newerFile} (${label(newer)}, ${newer.machine.cpu}, load average ${newer.machine.loadavgStart})`);
  if (older.quick !== newer.quick) console.log('note: one run is --quick and the other is not; their sizes differ, and so may their ratios');
  const lines = compareRuns(older, newer);
  if (lines.length === 0) console.log('neither run has ratios (runs before issue 17 reported absolute figures only)');
  else for (const line of compareTableLines(lines, 'older', 'newer')) console.log(line);
  const worse = lines.filter((l) => l.verdict === 'worse').length;
  console.log(`\n${worse} ratio(s) worse beyond both runs' spread (median outside the other run's min–max, and by ${MIN_CHANGE * 100}% or more)`);
  process.exit(0);
}

const quick = args.includes('--quick');
const profile = args.includes('--profile');
const unknown = args.filter((a) => a.startsWith('-') && !['--quick', '--profile'].includes(a));
const names = args.filter((a) => !a.startsWith('-'));
const bad = names.filter((n) => !scenarioNames().includes(n));
if (unknown.length > 0 || bad.length > 0) {
  console.error(`unknown ${bad.length ? `scenario ${bad.join(', ')}` : `option ${unknown.join(', ')}`}`);
  console.error(usage());
  process.exit(2);
}
const selected = SCENARIOS.filter((s) => names.length === 0 || names.includes(s.name));

// Fan-out holds 10,000 sockets in the gateway and in the load generators, which inherit this process's limit.
const NEEDED_FDS = Math.max(0, ...selected.map((s) => s.needsFds ?? 0));
// Node raises its soft limit to the hard limit at start-up; when the hard limit itself is too low, run again under
// `ulimit -n` (which needs the right to raise it: root, or a higher system limit).
if (NEEDED_FDS > 0 && !process.env.BENCH_ULIMIT_RAISED) {
  const { spawnSync, execSync } = await import('node:child_process');
  const limit = Number(execSync('ulimit -Sn', { shell: '/bin/sh', encoding: 'utf8' }).trim());
  if (limit < NEEDED_FDS) {
    if (spawnSync('/bin/sh', ['-c', `ulimit -n ${NEEDED_FDS}`]).status === 0) {
      console.log(`raising ulimit -n from ${limit} to ${NEEDED_FDS} for ${selected.filter((s) => s.needsFds).map((s) => s.name).join(', ')}`);
      process.on('SIGINT', () => {}); // the child gets Ctrl-C too and cleans up; wait for it
      const r = spawnSync('/bin/sh', ['-c', `ulimit -n ${NEEDED_FDS} && exec "$@"`, 'sh', process.execPath, ...process.execArgv, process.argv[1]!, ...args], {
        stdio: 'inherit',
        env: { ...process.env, BENCH_ULIMIT_RAISED: '1' },
      });
      process.exit(r.status ?? 1);
    }
    console.log(`warning: ulimit -n is ${limit} and cannot be raised here; ${NEEDED_FDS} file descriptors are needed and the run may fail`);
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
const pct = (x: number) => `${round(x * 100, 1)}%`;

const started = Date.now();
const date = new Date().toISOString();
const m = machine();
// The machine before the bench adds anything: how busy other work keeps it, and how fast one core loops.
const idle0 = cpuTimes();
await new Promise((r) => setTimeout(r, 1000));
m.busyBefore = round(cpuShares(idle0, cpuTimes()).busy, 3);
m.loopMops = singleCoreLoop();
const info = await startStack('info', {});
const [v, rpid] = await Promise.all([versions(info.t.pool, info.t.redis), redisPid(info.t.redis)]).finally(() => info.stop());
const g = git();
console.log(`logstream bench ${quick ? '(quick) ' : ''}— ${selected.map((s) => s.name).join(', ')}`);
console.log(`machine: ${m.cpu}, nproc ${m.nproc}, ${m.memoryGb} GB; Node ${v.node}, Redis ${v.redis}, PostgreSQL ${v.postgres}; commit ${g.commit}${g.dirty ? ' (dirty)' : ''}`);
console.log(`load average ${m.loadavg!.join(' / ')} (1 / 5 / 15 min); ${pct(m.busyBefore)} of the CPU busy with other work in the second before; single-core loop ${m.loopMops} M iterations/s`);
if (m.loadavgStart > 0.5 || m.busyBefore > 0.1) console.log(`note: the machine is busy; figures will be noisy (each scenario reports its spread)`);
{
  const e = expectedSeconds(selected, quick);
  const min = (s: number) => `${round(s / 60, 1)} min`;
  const busier = m.loadavgStart > (m.nproc ?? 1) ? `; longer on this machine now (load average ${m.loadavgStart} on ${m.nproc} cores)` : '';
  // The estimates come from one machine; a slower one takes longer than its loop alone says (522 M/s: 725-770 s).
  const slower = m.loopMops !== undefined && m.loopMops < 0.9 * REFERENCE_LOOP_MOPS ? `; this machine's single-core loop is ${m.loopMops} M/s against ${REFERENCE_LOOP_MOPS} where these were measured: expect longer${selected.length === SCENARIOS.length && !quick ? ' (the full bench took 12-13 min at 522 M/s)' : ''}` : '';
  console.log(`expected duration: ${min(e.seconds)} on a quiet ${m.nproc}-core machine${e.seed ? ` (${min(e.seconds + e.seed)} if the loki scenario's table has to be seeded first)` : ''}${busier}${slower}`);
}
let profileDir: string | undefined;
if (profile) {
  profileDir = `${RESULTS_DIR}profiles/${date.replace(/:/g, '-')}`;
  mkdirSync(profileDir, { recursive: true });
  console.log(`CPU profiles of the services go to ${profileDir}`);
}

const runStart = cpuTimes();
// latest.json as it was before this run: each write merges this run's scenarios over it.
const baseline = readLatest();
const ctx: Ctx = { quick, log: () => {}, profileDir, done: {}, previous: baseline, redisPid: rpid };
const results: Record<string, ScenarioResult> = {};
for (const scenario of selected) {
  const { name } = scenario;
  const t = Date.now();
  const cpu0 = cpuTimes();
  const loadavg = round(os.loadavg()[0]!, 2);
  const scoped = log(name);
  scoped('starting');
  const base = { name, date: new Date(t).toISOString(), commit: g.commit + (g.dirty ? '-dirty' : ''), quick, loadavg };
  let out: ScenarioResult;
  try {
    const r = await scenario.run({ ...ctx, log: scoped });
    out = { ...base, seconds: round((Date.now() - t) / 1000), steal: round(cpuShares(cpu0, cpuTimes()).steal, 4), ...r };
  } catch (err) {
    if (stopping) break;
    scoped(`failed: ${(err as Error).stack ?? err}`);
    killAllLoads();
    await stopEverything().catch(() => {});
    out = { ...base, seconds: round((Date.now() - t) / 1000), rows: [], figures: {}, error: (err as Error).message };
  }
  results[name] = out;
  ctx.done[name] = out;
  // Written after every scenario, so that a run stopped part-way (Ctrl-C, a deadline) keeps what it finished.
  m.loadavgEnd = round(os.loadavg()[0]!, 2);
  m.steal = round(cpuShares(runStart, cpuTimes()).steal, 4);
  writeResults({ date, git: g, quick, machine: m, versions: v, scenarios: results }, scenarioNames(), baseline);
  scoped(`done in ${out.seconds} s`);
}

m.loadavgEnd = round(os.loadavg()[0]!, 2);
m.steal = round(cpuShares(runStart, cpuTimes()).steal, 4);
const run: RunResult = { date, git: g, quick, machine: m, versions: v, scenarios: results };
console.log(`\nload average ${m.loadavgStart} → ${m.loadavgEnd}; CPU steal ${pct(m.steal)} over the run\n`);
for (const line of ratioTableLines(run)) console.log(line);
console.log('');
for (const line of figureTableLines(run)) console.log(line);
const files = writeResults(run, scenarioNames(), baseline);
console.log(`\nwrote ${files.latest} and ${files.dated} (${round((Date.now() - started) / 1000)} s)`);
process.exit(Object.values(results).some((r) => r.error) ? 1 : 0);
