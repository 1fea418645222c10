// Every HTTP service refuses to start on uWebSockets.js's slow ws-based fallback (which the package loads silently
// when its native binary does not fit the Node ABI or glibc).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadUws } from '../src/uws.js';

describe('uWebSockets.js', () => {
  it('is the native build here', () => {
    expect(typeof (loadUws() as { SSLApp?: unknown }).SSLApp).toBe('function');
  });

  it.each(['producer', 'processor', 'gateway'])('%s refuses to start on the fallback, in one line', (service) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', `${service}/src/index.ts`], {
      env: { ...process.env, UWS_USE_FALLBACK: '1', PORT: '0' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${service}: UWS_USE_FALLBACK is set`);
    expect(r.stderr).toContain('refusing to run on the slow fallback');
  });
});
