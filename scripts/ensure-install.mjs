// `npm start` and `npm test` must work on a fresh clone without a prior `npm install`
// (CONTRACT §1): install the dependencies when any of them is missing, then get out of the way.
import { existsSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const wanted = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
const missing = wanted.filter((name) => !existsSync(join(root, 'node_modules', name, 'package.json')));

// npm ci prints nothing until it is done (14 s here, minutes on a slow network): say what is going on meanwhile.
const PROGRESS_EVERY_MS = 5_000;

if (missing.length > 0) {
  const useCi = existsSync(join(root, 'package-lock.json'));
  const command = `npm ${useCi ? 'ci' : 'install'}`;
  console.error(`logstream: first run: installing dependencies with \`${command}\` (missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}); this takes a minute or so`);
  const startedAt = Date.now();
  const seconds = () => Math.round((Date.now() - startedAt) / 1000);
  const progress = setInterval(() => console.error(`logstream: still installing (${seconds()} s)…`), PROGRESS_EVERY_MS);
  const status = await new Promise((resolve) => {
    const child = spawn('npm', [useCi ? 'ci' : 'install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
    child.once('error', () => resolve(1));
    // A stopped `npm start` (kill <npm pid>) stops the install too, instead of leaving npm ci running on its own.
    for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => child.kill(signal));
    child.once('exit', (code) => resolve(code ?? 1));
  });
  clearInterval(progress);
  if (status !== 0) {
    console.error(`logstream: ${command} failed; see the output above`);
    process.exit(status);
  }
  console.error(`logstream: dependencies installed in ${seconds()} s`);
}
