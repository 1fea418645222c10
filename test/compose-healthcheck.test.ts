// The compose file's healthchecks of the app services (bash's /dev/tcp: the image has no curl or wget, and
// `node -e fetch(…)` cost ~150 ms of CPU a probe), run here against a real producer: exit 0 for its 200 /ready,
// non-zero for another status and for a port where nothing listens.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { REPO_ROOT } from '@logstream/shared/config.js';
import { freePort } from './helpers/free-port.js';
import { startService, stopAll, type Service } from './helpers/services.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers/test-env.js';

const services = YAML.parse(readFileSync(`${REPO_ROOT}docker-compose.yml`, 'utf8'), { merge: true }).services;
const PORTS: Record<string, string> = { producer: '8001', processor: '8003', gateway: '8002' };

let t: TestEnv;
let producer: Service;
beforeAll(async () => {
  t = await createTestEnv('compose_healthcheck');
  producer = await startService('producer', t.env);
});
afterAll(async () => {
  await stopAll();
  await t?.cleanup();
});

/** Run a service's healthcheck command with its container port replaced by `port`; the exit code. */
function probe(name: string, port: number, path = '/ready'): number | null {
  const test = services[name].healthcheck.test as string[];
  expect(test.slice(0, 3)).toEqual(['CMD', 'bash', '-c']);
  const script = test[3]!.replace(`/dev/tcp/127.0.0.1/${PORTS[name]}`, `/dev/tcp/127.0.0.1/${port}`).replace('GET /ready ', `GET ${path} `);
  expect(script).toContain(`/dev/tcp/127.0.0.1/${port}`);
  return spawnSync('bash', ['-c', script], { timeout: 10_000, stdio: 'ignore' }).status;
}

describe('compose healthchecks', () => {
  it('pass on a 200 /ready and fail on another answer or no listener', async () => {
    for (const name of Object.keys(PORTS)) {
      // Ready is the producer's answer at that moment: under a loaded full run its Redis probe can miss
      // PROBE_TIMEOUT_MS once (seen: one 503), as a container's healthcheck retries. A command that cannot pass never
      // gives 0.
      await waitFor(`${name}'s healthcheck to pass against a ready service`, () => probe(name, producer.port) === 0, 15_000, 200);
      expect(probe(name, producer.port, '/no-such-route'), `${name} against a 404`).not.toBe(0);
      expect(probe(name, await freePort()), `${name} with nothing listening`).not.toBe(0);
    }
  });
});
