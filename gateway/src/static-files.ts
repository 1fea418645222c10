// The web page (web/): static files, with the page script bundled once at start-up by esbuild so that the page
// imports the same protocol module as the services (no build step for the user).
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

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
  const bundle = buildSync({
    entryPoints: [WEB_DIR + 'src/main.ts'],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2020',
    minify: true,
    sourcemap: false,
    logLevel: 'silent',
  });
  files.set('/app.js', { body: Buffer.from(bundle.outputFiles[0]!.contents), type: TYPES['.js']! });
  return files;
}
