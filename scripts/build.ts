// npm run build: the JavaScript production runs (issue 13 point 6). esbuild bundles each service and command-line
// tool into one ES module in dist/ (our code and @logstream/shared inlined, npm packages left as imports of
// node_modules), and the page script into the gateway's bundle, so that a bundling error fails the build rather
// than a gateway's start, and the runtime image needs neither tsx nor esbuild. Development keeps running the
// TypeScript through tsx (npm start, npm run gateway, the tests), with the page bundled at the gateway's start.
// Usage: npm run build [-- <out dir>]; the out dir (default dist/) must lie inside the repository, where the
// bundles' imports of npm packages find node_modules (test/compiled.test.ts builds into .tmp/).
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { REPO_ROOT } from '@logstream/shared/config.js';
import { PAGE_BUNDLE } from '../gateway/src/static-files.js';

const OUT = `${resolve(process.argv[2] ?? `${REPO_ROOT}dist`)}/`;
const SERVICES = ['producer', 'processor', 'gateway'];
const TOOLS = ['dlq', 'ship', 'storage', 'search-index'];

/**
 * Modules find their files relative to themselves (`new URL('../migrations/', import.meta.url)`: migrations, Lua
 * scripts, .proto files, the page's HTML). In a bundle import.meta.url is the bundle's, so each module's is
 * replaced by the URL of its source file, computed at run time from the bundle's own: the files are read where
 * they lie in the tree, and the tree can move (the image runs it from /app).
 */
function sourceUrls(outDir: string): Plugin {
  return {
    name: 'source-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const fromBundle = JSON.stringify(relative(outDir, args.path).split(sep).join('/'));
        return { contents: text.replaceAll('import.meta.url', `new URL(${fromBundle}, import.meta.url).href`), loader: 'ts' };
      });
    },
  };
}

/** npm packages stay imports of node_modules (native uWS, pino's worker files); our workspaces are inlined. */
const npmPackagesExternal: Plugin = {
  name: 'npm-packages-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@logstream/') ? undefined : { path: args.path, external: true }));
  },
};

// Source maps beside the bundles: `node --enable-source-maps dist/<service>.js` gives TypeScript positions in stack
// traces (off by default: the bundles are not minified, so their own positions read well enough).
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
} as const;

/** The page script, as the gateway serves it at /app.js. */
async function pageScript(): Promise<string> {
  const page = await build({ ...PAGE_BUNDLE, logLevel: 'warning' });
  return page.outputFiles[0]!.text;
}

rmSync(OUT, { recursive: true, force: true });
const started = performance.now();
const define = { 'import.meta.pageScript': JSON.stringify(await pageScript()) };
await build({
  ...common,
  entryPoints: Object.fromEntries(SERVICES.map((s) => [s, `${REPO_ROOT}${s}/src/index.ts`])),
  outdir: OUT,
  plugins: [npmPackagesExternal, sourceUrls(OUT)],
  define,
});
await build({
  ...common,
  entryPoints: Object.fromEntries(TOOLS.map((t) => [t, `${REPO_ROOT}cli/src/${t}.ts`])),
  outdir: `${OUT}cli/`,
  plugins: [npmPackagesExternal, sourceUrls(`${OUT}cli/`)],
});
const dir = relative(process.cwd(), OUT) || '.';
console.log(`built ${SERVICES.map((s) => `${dir}/${s}.js`).join(', ')} and ${dir}/cli/{${TOOLS.join(',')}}.js in ${Math.round(performance.now() - started)} ms`);
