// The web page (web/): static files, and the page script bundled by esbuild so that the page imports the same
// protocol module as the services. The compiled gateway (npm run build, scripts/build.ts) carries the script bundled
// at build time; under tsx (npm start, npm run gateway, the tests) it is bundled here at start-up, so that a page
// edit shows on the next start with no build step.
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

declare global {
  interface ImportMeta {
    /** The page script, set by scripts/build.ts (esbuild `define`) in the compiled gateway only. */
    readonly pageScript?: string;
  }
}

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

export interface StaticFile {
  body: Buffer;
  type: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** path → file, for every file the page needs; built once. */
export function loadStaticFiles(): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const add = (urlPath: string, file: string) => {
    const full = WEB_DIR + file;
    if (!existsSync(full)) return;
    const ext = file.slice(file.lastIndexOf('.'));
    files.set(urlPath, { body: readFileSync(full), type: TYPES[ext] ?? 'application/octet-stream' });
  };
  add('/', 'index.html');
  add('/ui', 'index.html');
  add('/ui/', 'index.html');
  add('/style.css', 'style.css');
  add('/favicon.svg', 'favicon.svg');
  files.set('/app.js', { body: Buffer.from(import.meta.pageScript ?? bundlePage()), type: TYPES['.js']! });
  return files;
}

/** Development only: esbuild is a dev dependency, absent from the runtime image. */
function bundlePage(): Uint8Array {
  const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  return buildSync({ ...PAGE_BUNDLE, logLevel: 'silent' }).outputFiles[0]!.contents;
}

/** esbuild options of the page script, here and in scripts/build.ts. */
export const PAGE_BUNDLE: BuildOptions & { write: false } = {
  entryPoints: [WEB_DIR + 'src/main.ts'],
  bundle: true,
  write: false,
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: false,
};
