// Native load generators (bench/load/native/*.c), built on first use with the machine's C compiler into .tmp/bench/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Path of the built binary, rebuilt when its source is newer; throws saying what is missing when there is no cc. */
export function buildNative(name: string): string {
  const source = `${ROOT}bench/load/native/${name}.c`;
  const binary = `${ROOT}.tmp/bench/${name}`;
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary;
  mkdirSync(`${ROOT}.tmp/bench`, { recursive: true });
  try {
    execFileSync('cc', ['-O2', '-Wall', '-o', binary, source], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    throw new Error(`cannot build ${source} (${(err as Error).message}); install a C compiler (apt-get install gcc) or set BENCH_FANOUT_CLIENT=ws`);
  }
  return binary;
}
