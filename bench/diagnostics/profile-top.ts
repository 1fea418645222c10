// node --import tsx bench/diagnostics/profile-top.ts <dir or .cpuprofile …> [--top N] [--skip seconds]
// Summarize V8 CPU profiles written by `npm run bench -- --profile`: self time by function and by file,
// so that the hot paths of each service can be read without a profiler UI.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const top = opt('--top', 15);
// Seconds to skip at the start of each profile: start-up (tsx compiling the sources) is not the hot path.
const skip = opt('--skip', 0);
const paths = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const files = paths.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f)) : [p]));

const short = (url: string) => url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'nm:').replace(/.*\/(producer|processor|gateway|shared)\//, '$1/');

for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let t = 0;
  prof.samples.forEach((id, i) => {
    t += prof.timeDeltas[i] ?? 0;
    if (t >= skip * 1e6) selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  // Percentages are of busy time: idle is reported once, in the header.
  const idleId = prof.nodes.find((n) => n.callFrame.functionName === '(idle)')?.id;
  const idle = idleId === undefined ? 0 : (selfUs.get(idleId) ?? 0);
  if (idleId !== undefined) selfUs.delete(idleId);
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const name = n.callFrame.functionName || '(anonymous)';
    const where = short(n.callFrame.url) || '(native)';
    fn.set(`${name}  ${where}:${n.callFrame.lineNumber + 1}`, (fn.get(`${name}  ${where}:${n.callFrame.lineNumber + 1}`) ?? 0) + us);
    const key = where.startsWith('nm:') ? where.split('/').slice(0, where.startsWith('nm:@') ? 2 : 1).join('/') : where;
    byFile.set(key, (byFile.get(key) ?? 0) + us);
  }
  console.log(`\n${file}: ${(total / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle (after the first ${skip} s)`);
  const print = (title: string, m: Map<string, number>) => {
    console.log(`  ${title}`);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  };
  print('self time by function', fn);
  print('self time by file / package', byFile);
}
