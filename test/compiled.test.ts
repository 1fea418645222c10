// The compiled JavaScript production runs (npm run build, issue 13 point 6): built into a scratch folder, each
// bundle imports only production dependencies, and the three services started from their bundles on a database
// nobody migrated carry an event from /send to /logs and /live, and serve the page as the tsx gateway bundles it.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@logstream/shared/config.js';
import { loadStaticFiles } from '../gateway/src/static-files.js';
import { connectLive } from './helpers/live-client.js';
import { startService, stopAll, waitUntilReady, type Service } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

const OUT = `.tmp/compiled-${randomBytes(4).toString('hex')}`;
let build: ReturnType<typeof spawnSync>;
let t: TestEnv;
let producer: Service;
let processor: Service;
let gateway: Service;

beforeAll(async () => {
  build = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts', OUT], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (build.status !== 0) return;
  // No migrations: the compiled processor must find shared/migrations itself.
  t = await createTestEnv('compiled', { migrate: false });
  const env = { ...t.env, BLOCK_MS: '100' };
  processor = await startService('processor', env, 120_000, [`${OUT}/processor.js`]);
  await waitUntilReady(processor);
  [producer, gateway] = await Promise.all([
    startService('producer', env, 120_000, [`${OUT}/producer.js`]),
    startService('gateway', env, 120_000, [`${OUT}/gateway.js`]),
  ]);
  await Promise.all([waitUntilReady(producer), waitUntilReady(gateway)]);
}, 240_000);

afterAll(async () => {
  await stopAll();
  await t?.cleanup();
  rmSync(`${REPO_ROOT}${OUT}`, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('builds every service and tool', () => {
    expect(build.status, `${build.stdout}${build.stderr}`).toBe(0);
    const files = readdirSync(`${REPO_ROOT}${OUT}`, { recursive: true }).map(String).filter((f) => f.endsWith('.js')).sort();
    expect(files).toEqual(['cli/dlq.js', 'cli/search-index.js', 'cli/ship.js', 'cli/storage.js', 'gateway.js', 'processor.js', 'producer.js']);
  });

  it('leaves only production dependencies and Node built-ins as imports: no tsx, esbuild or TypeScript at run time', () => {
    const pkg = JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')) as { dependencies: Record<string, string> };
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    for (const file of ['producer.js', 'processor.js', 'gateway.js', 'cli/dlq.js', 'cli/ship.js', 'cli/storage.js', 'cli/search-index.js']) {
      const code = readFileSync(`${REPO_ROOT}${OUT}/${file}`, 'utf8');
      const specifiers = [...code.matchAll(/^import\s[^;]*?from\s*"([^"]+)"|\bimport\("([^"]+)"\)|\brequire\d*\("([^"]+)"\)/gm)].map((m) => m[1] ?? m[2] ?? m[3]!);
      expect(specifiers.length, file).toBeGreaterThan(0);
      for (const s of specifiers) {
        const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.startsWith('node:') ? s : s.split('/')[0]!;
        expect(allowed, `${file} imports ${s}`).toContain(name);
      }
      expect(code, file).not.toMatch(/from "\.|\.ts"\)/);
    }
  });
});

describe('the compiled services', () => {
  it('carry an event from /send to /logs and /live (Lua scripts, migrations found from the bundles)', async () => {
    const live = await connectLive(gateway.url, 'service=compiled');
    const res = await fetch(`${producer.url}/send?message=hello%20compiled&service=compiled&level=warn`);
    expect(res.status).toBe(202);
    await live.waitForIds(1);
    expect(live.frames.filter((f) => f.type === 'logs').flatMap((f) => f.items.map((i: { message: string }) => i.message))).toEqual(['hello compiled']);
    const items = await waitFor('the row in /logs', async () => {
      const body = (await (await fetch(`${gateway.url}/logs?service=compiled`)).json()) as { items: { message: string; level: string }[] };
      return body.items.length > 0 ? body.items : undefined;
    });
    expect(items.map((i) => [i.message, i.level])).toEqual([['hello compiled', 'warn']]);
    await live.close();
  });

  it('serve the page bundled at build time, the same script the tsx gateway bundles at start-up', async () => {
    const dev = loadStaticFiles();
    const script = await fetch(`${gateway.url}/app.js`);
    expect(script.status).toBe(200);
    expect(Buffer.from(await script.arrayBuffer()).equals(dev.get('/app.js')!.body)).toBe(true);
    const html = await fetch(`${gateway.url}/ui`);
    expect(html.status).toBe(200);
    expect(await html.text()).toBe(dev.get('/ui')!.body.toString());
  });

  it('run the command-line tools from their bundles', () => {
    const status = spawnSync(process.execPath, [`${OUT}/cli/storage.js`, 'status'], { cwd: REPO_ROOT, env: { ...process.env, ...t.env }, encoding: 'utf8' });
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^\d+ partitions, /m);
  });
});
