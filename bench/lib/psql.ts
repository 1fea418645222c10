// The stats scenario's baseline (issue 17): a statement run by `psql` itself, `runs` times in one session after
// one unmeasured run, timed by psql's \timing (query sent → whole result received, printing not included; the
// rows go to /dev/null).
import { spawn } from 'node:child_process';
import { PG_HOST, PG_PORT, PG_USER } from '../../test/helpers/test-env.js';

/** `warmup` false: no unmeasured first run (for statements that take seconds and vary little, the loki scenario). */
export async function psqlTimes(database: string, sql: string, runs: number, warmup = true): Promise<number[]> {
  const statement = `${sql.trim().replace(/;$/, '')};\n`;
  const first = warmup ? 1 : 0;
  const script = `\\timing on\n\\o /dev/null\n${statement.repeat(runs + first)}`;
  const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER, '-d', database], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (err += c));
  child.stdin.end(script);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`cannot run psql (${e.message}); install the PostgreSQL client (apt-get install postgresql-client)`)));
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`psql exited ${code}: ${err.trim().slice(0, 300)}`);
  // "Time: 12.345 ms" or, from a second on, "Time: 1234.567 ms (00:01.235)".
  const times = [...out.matchAll(/^Time: ([\d.]+) ms/gm)].map((m) => Number(m[1]));
  if (times.length !== runs + first) throw new Error(`psql printed ${times.length} timings for ${runs + first} statements`);
  return times.slice(first);
}
