// Static checks of the deployment files (there is no Docker engine or cluster on the development machines; CI
// exercises them for real): docker-compose.yml, Dockerfile, .env.example, deploy/k8s, deploy/ monitoring config and
// the GitHub workflow. Every environment variable they name must be one the services understand (shared/src/config.ts
// and scripts/start.ts), and .env.example must list every such variable with its real default.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { baseShape, DEFAULT_HOST, gatewayShape, ingestShape, parseConfig, processorShape, REPO_ROOT, storageShape } from '@logstream/shared/config.js';

const read = (path: string) => readFileSync(`${REPO_ROOT}${path}`, 'utf8');
const parseYaml = (path: string) => YAML.parse(read(path), { merge: true });
const configShape = { ...baseShape, ...ingestShape, ...processorShape, ...storageShape, ...gatewayShape };

// scripts/start.ts declares its own variables (PROCESSORS, *_PORT) inline; read them and their defaults from it.
const startDefaults = new Map<string, string>(
  [...read('scripts/start.ts').matchAll(/^\s+([A-Z][A-Z0-9_]+): z\.coerce[^\n]*\.default\((\d+)\)/gm)].map((m) => [m[1]!, m[2]!]),
);
const KNOWN = new Set<string>([...Object.keys(configShape), 'PORT', 'HOST', 'PRODUCER_URL', ...startDefaults.keys()]);

/** The default of every variable as the services see it ('' for none), rendered as .env would write it. */
function defaults(): Map<string, string> {
  const parsed = parseConfig(configShape, {}) as Record<string, unknown>;
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(parsed)) out.set(key, value === undefined ? '' : Array.isArray(value) ? value.join(',') : String(value));
  for (const [key, value] of startDefaults) out.set(key, value);
  out.set('HOST', DEFAULT_HOST);
  return out;
}

/** `${VAR}`, `${VAR:-default}`, `$${VAR…}` (a shell variable inside a command, not compose's) excluded. */
function interpolated(text: string): string[] {
  return [...text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

describe('scripts/start.ts variables', () => {
  it('are found (the regex above still matches the file)', () => {
    expect([...startDefaults.keys()].sort()).toEqual(['GATEWAY_PORT', 'PROCESSORS', 'PROCESSOR_PORT', 'PRODUCER_PORT']);
  });
});

describe('docker-compose.yml', () => {
  const compose = parseYaml('docker-compose.yml');
  const services = compose.services as Record<string, any>;
  const apps = ['producer', 'processor', 'gateway'];

  it('has the stack and the monitoring profile', () => {
    expect(Object.keys(services).sort()).toEqual(['gateway', 'grafana', 'postgres', 'processor', 'producer', 'prometheus', 'redis']);
    for (const name of ['prometheus', 'grafana']) expect(services[name].profiles).toEqual(['monitoring']);
    for (const name of ['redis', 'postgres', ...apps]) expect(services[name].profiles).toBeUndefined();
    expect(services.prometheus.volumes).toContain('./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(services.grafana.volumes.some((v: string) => v.startsWith('./deploy/grafana/logstream.json:'))).toBe(true);
    expect(services.grafana.volumes.some((v: string) => v.startsWith('./deploy/grafana/provisioning:'))).toBe(true);
  });

  it('gives every service a healthcheck and makes dependants wait for it', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(Array.isArray(s.healthcheck?.test), `${name} healthcheck`).toBe(true);
      for (const [dep, cond] of Object.entries((s.depends_on ?? {}) as Record<string, any>)) {
        expect(cond.condition, `${name} → ${dep}`).toBe('service_healthy');
        expect(services[dep], `${name} depends on unknown ${dep}`).toBeDefined();
      }
    }
    expect(Object.keys(services.producer.depends_on)).toEqual(['redis']);
    expect(Object.keys(services.processor.depends_on).sort()).toEqual(['postgres', 'redis']);
    expect(Object.keys(services.gateway.depends_on)).toEqual(['postgres']);
  });

  it('runs the app services from the one image, on their PORT, checking /ready with bash (no curl in the image)', () => {
    const ports: Record<string, string> = { producer: '8001', processor: '8003', gateway: '8002' };
    for (const name of apps) {
      const s = services[name];
      expect(s.build).toBe('.');
      // The bundle npm run build makes of <name>/src/index.ts (scripts/build.ts; test/compiled.test.ts runs them).
      expect(s.command).toEqual(['node', `dist/${name}.js`]);
      expect(existsSync(`${REPO_ROOT}${name}/src/index.ts`)).toBe(true);
      expect(String(s.environment.PORT)).toBe(ports[name]);
      // test/compose-healthcheck.test.ts runs these commands against a real service.
      expect(s.healthcheck.test.slice(0, 3)).toEqual(['CMD', 'bash', '-c']);
      expect(s.healthcheck.test[3]).toContain(`exec 3<>/dev/tcp/127.0.0.1/${ports[name]} && printf 'GET /ready HTTP/1.1`);
      expect(s.env_file).toEqual([{ path: '.env', required: false }]);
      expect(s.environment.REDIS_HOST).toBe('redis');
      expect(s.environment.DB_HOST).toBe('postgres');
      // Whatever HOST a host-side .env says (env_file), a container listens on every interface.
      expect(s.environment.HOST).toBe('0.0.0.0');
    }
    expect(services.producer.ports).toEqual(['${PRODUCER_PORT:-8001}:8001', '${OTLP_HTTP_PORT:-4318}:4318', '${SYSLOG_PORT:-5514}:5514/tcp', '${SYSLOG_PORT:-5514}:5514/udp']);
    expect(services.gateway.ports).toEqual(['${GATEWAY_PORT:-8002}:8002']);
  });

  it('lets the processor scale: no container_name, no host port', () => {
    expect(services.processor.container_name).toBeUndefined();
    expect(services.processor.ports).toBeUndefined();
    for (const s of Object.values(services)) expect(s.container_name).toBeUndefined();
  });

  it('keeps Redis (append-only file) and PostgreSQL 15 data in volumes', () => {
    expect(services.redis.image).toMatch(/^redis:7/);
    expect(services.redis.command.join(' ')).toContain('--appendonly yes');
    expect(services.redis.volumes).toEqual(['redis-data:/data']);
    expect(services.postgres.image).toMatch(/^postgres:15/);
    expect(services.postgres.volumes).toEqual(['postgres-data:/var/lib/postgresql/data']);
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['redis-data', 'postgres-data']));
  });

  it('names only variables the services understand', () => {
    for (const name of apps) for (const key of Object.keys(services[name].environment)) expect(KNOWN, `${name}: ${key}`).toContain(key);
    const used = interpolated(read('docker-compose.yml'));
    expect(used.length).toBeGreaterThan(5);
    for (const v of used) expect(KNOWN, `\${${v}} in docker-compose.yml`).toContain(v);
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const stages = text.split(/^FROM /m).slice(1).map((s) => 'FROM ' + s);
  const final = stages[stages.length - 1]!;

  it('is multi-stage on Debian Node 20, never Alpine (uWebSockets.js needs glibc)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.split('\n')[0]).toMatch(/^FROM node:20-(bookworm|bullseye|trixie)(-slim)?( AS \w+)?$/);
    expect(text).not.toMatch(/^FROM .*alpine/im);
  });

  it('needs no frontend image (no `# syntax=` line: BuildKit would fetch it on every build) and listens on every interface', () => {
    expect(text).not.toMatch(/^#\s*syntax\s*=/im);
    expect(final).toMatch(/^ENV HOST=0\.0\.0\.0$/m);
  });

  it('installs production dependencies only in the final stage and runs as a non-root user', () => {
    expect(final).toMatch(/^RUN .*npm ci --omit=dev/m);
    const user = [...final.matchAll(/^USER (\S+)/gm)].map((m) => m[1]!);
    expect(user.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(user[user.length - 1]);
    expect(final).toMatch(/^CMD \["node", "dist\/producer\.js"\]/m);
  });

  it('builds the bundles in the build stage and runs them without TypeScript, tsx or esbuild', () => {
    const build = stages[0]!;
    expect(build).toMatch(/^RUN npx tsc --noEmit/m);
    expect(build).toMatch(/^RUN npm run build$/m);
    expect(final).toMatch(/^COPY --from=build \/app\/dist dist$/m);
    // No source folder whole in the runtime stage: only the files the bundles read (migrations, Lua, .proto, HTML).
    expect(final).not.toMatch(/^COPY --from=build \/app\/(shared|producer|processor|gateway|web|cli) /m);
    const instructions = final.split('\n').filter((l) => !l.startsWith('#')).join('\n');
    expect(instructions).not.toMatch(/tsx|\.ts\b/);
    // --omit=dev leaves tsx and esbuild out only while they are dev dependencies.
    const pkg = JSON.parse(read('package.json'));
    for (const dev of ['tsx', 'esbuild', 'typescript']) {
      expect(pkg.dependencies[dev], dev).toBeUndefined();
      expect(pkg.devDependencies[dev], dev).toBeDefined();
    }
  });

  it('copies every workspace the lock file names, and keeps .env and node_modules out of the context', () => {
    const workspaces = JSON.parse(read('package.json')).workspaces as string[];
    for (const w of workspaces) expect(final, w).toContain(`${w}/package.json`);
    const ignore = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', '.env', '.git']) expect(ignore).toContain(entry);
  });
});

describe('.env.example', () => {
  const lines = read('.env.example').split('\n');
  // Active lines and commented-out ones (`# PORT=`) both count as listed.
  const entries = new Map<string, string>();
  for (const line of lines) {
    const m = /^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) entries.set(m[1]!, m[2]!);
  }

  it('lists every variable the services and npm start understand, and nothing else', () => {
    expect([...entries.keys()].sort()).toEqual([...KNOWN].sort());
  });

  it('shows the real default of each one', () => {
    for (const [key, value] of defaults()) expect(entries.get(key), key).toBe(value);
    expect(entries.get('PORT')).toBe('');
    expect(lines).toContain('# PORT=');
  });

  it('explains each variable with a comment above it', () => {
    lines.forEach((line, i) => {
      if (!/^[A-Z]/.test(line)) return;
      let j = i - 1;
      while (j >= 0 && /^[A-Z]/.test(lines[j]!)) j--;
      expect(lines[j], `comment above ${line}`).toMatch(/^# /);
    });
  });
});

describe('deploy/k8s (kustomize)', () => {
  const dir = 'deploy/k8s/';
  const files = readdirSync(`${REPO_ROOT}${dir}`).filter((f) => f.endsWith('.yaml'));
  const kustomization = parseYaml(`${dir}kustomization.yaml`);
  const docs = files
    .filter((f) => f !== 'kustomization.yaml')
    .flatMap((f) => YAML.parseAllDocuments(read(`${dir}${f}`)).map((d) => ({ file: f, doc: d })));
  const objects = docs.map(({ file, doc }) => ({ file, obj: doc.toJS() as any }));
  const byKind = (kind: string) => objects.map((o) => o.obj).filter((o) => o.kind === kind);
  const named = (kind: string, name: string) => byKind(kind).find((o) => o.metadata.name === name);

  it('parses, and every object has apiVersion, kind and metadata.name', () => {
    for (const { file, doc } of docs) expect(doc.errors, file).toEqual([]);
    expect(objects.length).toBeGreaterThanOrEqual(14);
    for (const { file, obj } of objects) {
      expect(obj.apiVersion, file).toMatch(/^[a-z0-9./]+$/);
      expect(obj.kind, file).toMatch(/^[A-Z]\w+$/);
      expect(obj.metadata?.name, file).toMatch(/^[a-z0-9-]+$/);
    }
  });

  it('has a kustomization listing exactly the manifests of the folder', () => {
    expect(kustomization.kind).toBe('Kustomization');
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== 'kustomization.yaml').sort());
  });

  it('runs producer, processor and gateway with probes, resources, a Service and a PodDisruptionBudget each', () => {
    const ports: Record<string, number> = { producer: 8001, processor: 8003, gateway: 8002 };
    for (const [name, port] of Object.entries(ports)) {
      const deploy = named('Deployment', name);
      expect(deploy, name).toBeDefined();
      const labels = deploy.spec.template.metadata.labels;
      expect(deploy.spec.selector.matchLabels).toEqual(labels);
      const [c] = deploy.spec.template.spec.containers;
      expect(c.image).toBe('logstream');
      expect(c.command).toEqual(['node', `dist/${name}.js`]);
      expect(c.ports[0].containerPort).toBe(port);
      expect(c.env.find((e: any) => e.name === 'PORT').value).toBe(String(port));
      expect(c.readinessProbe.httpGet.path).toBe('/ready');
      expect(c.livenessProbe.httpGet.path).toBe('/health');
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) expect(probe.httpGet.port).toBe(c.ports[0].name);
      expect(c.resources.requests.cpu).toBeTruthy();
      expect(c.resources.requests.memory).toBeTruthy();
      expect(c.resources.limits.memory).toBeTruthy();
      expect(deploy.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
      for (const from of c.envFrom) {
        const ref = from.configMapRef ?? from.secretRef;
        expect(named(from.configMapRef ? 'ConfigMap' : 'Secret', ref.name), ref.name).toBeDefined();
      }
      const service = named('Service', name);
      expect(service.spec.selector).toEqual(labels);
      expect(service.spec.ports[0].port).toBe(port);
      const pdb = byKind('PodDisruptionBudget').find((p) => p.metadata.name === name);
      expect(pdb.spec.selector.matchLabels).toEqual(labels);
      expect(pdb.spec.minAvailable ?? pdb.spec.maxUnavailable).toBeGreaterThanOrEqual(1);
    }
  });

  it('keeps Redis and PostgreSQL external, configured by a Secret', () => {
    const secret = named('Secret', 'logstream-backends');
    for (const key of ['REDIS_HOST', 'REDIS_PORT', 'REDIS_PASSWORD', 'DB_HOST', 'DB_PORT', 'POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB']) {
      expect(secret.stringData, key).toHaveProperty(key);
    }
    expect(byKind('StatefulSet')).toEqual([]);
  });

  it('autoscales processors with KEDA on the consumer group lag of the configured stream, gateways on CPU', () => {
    const config = named('ConfigMap', 'logstream-config').data;
    const scaled = named('ScaledObject', 'processor');
    expect(scaled.apiVersion).toBe('keda.sh/v1alpha1');
    expect(scaled.spec.scaleTargetRef.name).toBe('processor');
    const [trigger] = scaled.spec.triggers;
    expect(trigger.type).toBe('redis-streams');
    expect(trigger.metadata.stream).toBe(config.REDIS_STREAM);
    expect(trigger.metadata.consumerGroup).toBe(config.REDIS_GROUP);
    expect(Number(trigger.metadata.lagCount ?? trigger.metadata.pendingEntriesCount)).toBeGreaterThan(0);
    expect(named('TriggerAuthentication', trigger.authenticationRef.name).spec.secretTargetRef[0].name).toBe('logstream-backends');
    const hpa = named('HorizontalPodAutoscaler', 'gateway');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'gateway' });
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    // Replica counts belong to the autoscalers.
    expect(named('Deployment', 'processor').spec.replicas).toBeUndefined();
    expect(named('Deployment', 'gateway').spec.replicas).toBeUndefined();
  });

  it('names only variables the services understand', () => {
    const names: string[] = [];
    for (const o of byKind('ConfigMap')) names.push(...Object.keys(o.data));
    for (const o of byKind('Secret')) names.push(...Object.keys(o.stringData ?? o.data));
    for (const d of byKind('Deployment')) for (const c of d.spec.template.spec.containers) names.push(...(c.env ?? []).map((e: any) => e.name));
    expect(names.length).toBeGreaterThan(20);
    for (const n of names) expect(KNOWN, n).toContain(n);
    // And the config values parse: a bad default here would stop every pod at start-up.
    expect(() => parseConfig(configShape, named('ConfigMap', 'logstream-config').data)).not.toThrow();
    expect(named('ConfigMap', 'logstream-config').data.HOST).toBe('0.0.0.0');
  });
});

describe('monitoring config', () => {
  it('scrapes every service, processors by DNS so that scaled replicas are found', () => {
    const prom = parseYaml('deploy/prometheus.yml');
    const jobs = Object.fromEntries(prom.scrape_configs.map((j: any) => [j.job_name, j]));
    expect(jobs.producer.static_configs[0].targets).toEqual(['producer:8001']);
    expect(jobs.gateway.static_configs[0].targets).toEqual(['gateway:8002']);
    expect(jobs.processor.dns_sd_configs[0]).toMatchObject({ names: ['processor'], port: 8003 });
  });

  it('provisions the dashboard with the Prometheus data source it refers to', () => {
    const dashboard = JSON.parse(read('deploy/grafana/logstream.json'));
    const datasource = parseYaml('deploy/grafana/provisioning/datasources/prometheus.yml').datasources[0];
    expect(dashboard.uid).toBe('logstream');
    const panels = dashboard.panels.filter((p: any) => p.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(10);
    for (const p of panels) {
      expect(p.datasource.uid, p.title).toBe(datasource.uid);
      expect(p.targets.length, p.title).toBeGreaterThan(0);
    }
    const provider = parseYaml('deploy/grafana/provisioning/dashboards/logstream.yml').providers[0];
    const compose = parseYaml('docker-compose.yml');
    expect(compose.services.grafana.volumes).toContain(`./deploy/grafana/logstream.json:${provider.options.path}/logstream.json:ro`);
  });
});

describe('.github/workflows/ci.yml', () => {
  const text = read('.github/workflows/ci.yml');
  const wf = YAML.parse(text);

  it('runs on push and pull request', () => {
    expect(Object.keys(wf.on).sort()).toEqual(['pull_request', 'push']);
  });

  it('pins every action to a full release tag or a commit SHA', () => {
    const uses = [...text.matchAll(/uses:\s*(\S+)/g)].map((m) => m[1]!);
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) expect(u).toMatch(/^[\w.-]+\/[\w.-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/);
  });

  it('tests with Redis 7 and PostgreSQL 15 service containers, then exercises the compose stack', () => {
    const test = wf.jobs.test;
    expect(test.services.redis.image).toMatch(/^redis:7/);
    expect(test.services.postgres.image).toMatch(/^postgres:15/);
    const testRuns = test.steps.map((s: any) => s.run ?? '').join('\n');
    for (const cmd of ['npm ci', 'npm run typecheck', 'npm run lint', 'npm run build', 'npm test']) expect(testRuns).toContain(cmd);
    // Browser tests run there too, with the runner's Chrome (test/helpers/browser.ts reads CHROMIUM_PATH).
    expect(test.env.CHROMIUM_PATH).toMatch(/^\/usr\/bin\//);
    const composeRuns = wf.jobs.compose.steps.map((s: any) => s.run ?? '').join('\n');
    expect(composeRuns).toMatch(/docker compose up -d --build --scale processor=3 --wait/);
    expect(composeRuns).toContain('scripts/smoke.sh');
    expect(composeRuns).toContain('scripts/compose-failover.sh');
    expect(composeRuns).toContain('docker compose --profile monitoring down -v');
  });

  it('runs the fault suite with redis-server installed and PG_BIN pointing at the server binaries', () => {
    const runs = wf.jobs.faults.steps.map((s: any) => s.run ?? '').join('\n');
    expect(runs).toContain('apt-get install -y -qq redis-server');
    expect(runs).toMatch(/PG_BIN=.*\/usr\/lib\/postgresql\/\*\/bin/);
    expect(runs).toContain('npm run test:faults');
  });
});

describe('smoke scripts', () => {
  it('exist, are executable shell scripts that parse, and default to the contract ports', () => {
    for (const script of ['scripts/smoke.sh', 'scripts/compose-failover.sh']) {
      expect(statSync(`${REPO_ROOT}${script}`).mode & 0o111, script).not.toBe(0);
      const check = spawnSync('bash', ['-n', `${REPO_ROOT}${script}`], { encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
      expect(read(script)).toContain('PRODUCER_URL="${PRODUCER_URL:-http://localhost:8001}"');
      expect(read(script)).toContain('GATEWAY_URL="${GATEWAY_URL:-http://localhost:8002}"');
    }
    const ps1 = read('scripts/smoke_test.ps1');
    expect(ps1).toContain("'http://localhost:8001'");
    expect(ps1).toContain("'http://localhost:8002'");
  });
});
