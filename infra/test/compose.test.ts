/**
 * docker-compose.yml, deploy/haproxy.cfg, the Dockerfile and .dockerignore describe the same fleet as
 * `npm run cluster` (scripts/cluster.sh, scripts/haproxy.cfg.tmpl) and the environment of
 * CONTRACT.md section 2 (the processes' config schemas and .env.example). No Docker needed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DRAIN_TIMEOUT_MS, PORTS } from '../lib/config.ts';
import {
  AWS_SDK_KEYS,
  clusterScript,
  composeFile,
  dockerIgnored,
  dockerignorePatterns,
  dockerStages,
  documentedKeys,
  envKeys,
  haproxySections,
  interpolate,
  repoFile,
  strings,
} from './repo.ts';

const compose = composeFile();
const cluster = clusterScript();
const services = compose.services;
/** What a developer's shell usually has: nothing Prism-specific, a session secret. */
const ENV = { SESSION_SECRET: 'a-session-secret-of-some-length' };
const env = (service: string, shellEnv: Record<string, string> = ENV): Record<string, string> =>
  Object.fromEntries(
    Object.entries(services[service]?.environment ?? {}).map(([k, v]) => [
      k,
      interpolate(String(v ?? ''), shellEnv),
    ]),
  );
const seconds = (duration: string): number => {
  const m = /^(\d+)(ms|s|m)$/.exec(duration);
  if (!m) throw new Error(`unsupported duration ${duration}`);
  return Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 } as Record<string, number>)[m[2]!]!;
};
const haveHaproxy = (() => {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('docker-compose.yml and scripts/cluster.sh', () => {
  it('has the services of the cluster: redis, s3, server, worker, lb', () => {
    expect(Object.keys(services).sort()).toEqual(['lb', 'redis', 's3', 'server', 'worker']);
  });

  it('runs as many servers and workers as npm run cluster', () => {
    expect(services.server?.deploy?.replicas).toBe(cluster.servers);
    expect(services.worker?.deploy?.replicas).toBe(cluster.workers);
    expect(cluster.servers).toBe(3);
    expect(cluster.workers).toBe(2);
  });

  it('builds server and worker from the Dockerfile targets of the same name', () => {
    for (const name of ['server', 'worker']) {
      expect(services[name]?.build).toMatchObject({ context: '.', target: name });
      // Replicas need generated container names.
      expect(services[name]?.container_name).toBeUndefined();
    }
  });

  it('gives each process the variables cluster.sh sets for it (INSTANCE_ID left to the hostname)', () => {
    const perReplica = new Set(['INSTANCE_ID']);
    for (const [name, vars] of [
      ['server', cluster.serverVars],
      ['worker', cluster.workerVars],
    ] as const) {
      const keys = Object.keys(services[name]?.environment ?? {});
      expect(vars.length).toBeGreaterThan(0);
      for (const v of vars.filter((v) => !perReplica.has(v))) expect(keys, `${name}: ${v}`).toContain(v);
      // One value for every replica would give them all the same name in logs, /health and Redis.
      for (const v of perReplica) expect(keys).not.toContain(v);
    }
  });

  it('sets only variables the process reads, each documented in .env.example', () => {
    const documented = documentedKeys();
    for (const name of ['server', 'worker'] as const) {
      const known = envKeys(name);
      for (const key of Object.keys(services[name]?.environment ?? {})) {
        if (AWS_SDK_KEYS.has(key)) continue;
        expect(known, `${name} does not read ${key}`).toContain(key);
        // NODE_ENV is Node's own convention (CONTRACT section 2 mentions it in its preamble).
        if (key !== 'NODE_ENV') expect(documented, `${key} is not in .env.example`).toContain(key);
      }
    }
  });

  it('configures the production topology: Redis, S3 store, proxy trust, required session secret', () => {
    const server = env('server');
    const worker = env('worker');
    for (const e of [server, worker]) {
      expect(e.NODE_ENV).toBe('production');
      expect(e.REDIS_URL).toBe('redis://redis:6379');
      expect(e.STORAGE_URL).toMatch(/^s3:\/\/[a-z0-9.-]+\/\S+$/);
      expect(e.S3_ENDPOINT_URL).toBe('http://s3:7070');
      expect(Number(e.DRAIN_TIMEOUT_MS)).toBe(DEFAULT_DRAIN_TIMEOUT_MS);
    }
    expect(server.PORT).toBe(String(PORTS.server));
    expect(server.METRICS_PORT).toBe(String(PORTS.serverMetrics));
    expect(worker.WORKER_HEALTH_PORT).toBe(String(PORTS.workerHealth));
    expect(server.PUBLIC_URL).toBe(`http://localhost:${cluster.port}`);
    expect(server.TRUST_PROXY).toBeTruthy();
    expect(server.SESSION_SECRET).toBe(ENV.SESSION_SECRET);
    expect(() => env('server', {})).toThrow(/required variable SESSION_SECRET/);
    // The S3 credentials are AWS_* variables: without an explicit provider the worker would pick bedrock.
    expect(worker.AI_PROVIDER).toBe('rules');
    expect(env('worker', { ...ENV, AI_PROVIDER: 'bedrock' }).AI_PROVIDER).toBe('bedrock');
    // The S3 gateway checks signatures for its own region.
    expect(env('s3').VGW_REGION).toBe(server.AWS_REGION);
  });

  it('interpolates cleanly with the defaults', () => {
    for (const s of strings(compose)) expect(() => interpolate(s, ENV)).not.toThrow();
  });

  it('publishes ports on 127.0.0.1 only, the load balancer on CLUSTER_PORT', () => {
    const published = Object.entries(services).flatMap(([name, s]) =>
      (s.ports ?? []).map((p) => [name, interpolate(p, ENV)] as const),
    );
    expect(published.length).toBeGreaterThan(0);
    for (const [name, port] of published) expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    expect(published).toContainEqual(['lb', `127.0.0.1:${cluster.port}:8080`]);
    expect(services.server?.ports).toBeUndefined();
    expect(services.worker?.ports).toBeUndefined();
    expect(services.redis?.ports).toBeUndefined();
  });

  it('starts a service only after what it needs is healthy', () => {
    for (const name of ['server', 'worker']) {
      expect(services[name]?.depends_on).toEqual({
        redis: { condition: 'service_healthy' },
        s3: { condition: 'service_healthy' },
      });
    }
    expect(services.lb?.depends_on).toEqual({ server: { condition: 'service_healthy' } });
    for (const name of ['redis', 's3', 'lb']) expect(services[name]?.healthcheck?.test, name).toBeTruthy();
  });

  it('pins every image', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) continue;
      expect(s.image, name).toMatch(/:v?\d+\.\d+\.\d+(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it('runs Redis with noeviction, persistence and a volume', () => {
    const command = ((services.redis?.command ?? []) as string[]).join(' ');
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    expect(command).toMatch(/--appendonly yes/);
    expect(services.redis?.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
  });

  it('runs the S3 store with a bucket for STORAGE_URL and a health endpoint', () => {
    const s3 = env('s3');
    const bucket = /^s3:\/\/([^/]+)\//.exec(env('server').STORAGE_URL!)![1];
    expect(s3.S3_BUCKET).toBe(bucket);
    expect(s3.VGW_HEALTH).toBe('/health');
    expect(strings(services.s3?.healthcheck?.test).join(' ')).toContain('/health');
    expect(env('server').AWS_ACCESS_KEY_ID).toBe(s3.ROOT_ACCESS_KEY_ID);
    expect(env('server').AWS_SECRET_ACCESS_KEY).toBe(s3.ROOT_SECRET_ACCESS_KEY);
  });

  it('lets node receive SIGTERM and drain before the kill', () => {
    for (const name of ['server', 'worker']) {
      expect(services[name]?.init).toBe(true);
      const grace = seconds(services[name]?.stop_grace_period ?? '10s');
      expect(grace).toBeGreaterThan(DEFAULT_DRAIN_TIMEOUT_MS / 1000);
      expect(grace).toBe(cluster.stopGraceSeconds);
    }
  });
});

describe('deploy/haproxy.cfg and scripts/haproxy.cfg.tmpl', () => {
  const composeCfg = repoFile('deploy/haproxy.cfg');
  const template = repoFile('scripts/haproxy.cfg.tmpl');
  const ours = haproxySections(composeCfg);
  const theirs = haproxySections(template);
  const without = (lines: string[] | undefined, ...prefixes: string[]) =>
    (lines ?? []).filter((l) => !prefixes.some((p) => l.startsWith(p)));

  it('has the same sections, plus Docker DNS resolvers', () => {
    expect([...ours.keys()].filter((k) => !k.startsWith('resolvers '))).toEqual([...theirs.keys()]);
    expect(ours.get('resolvers docker')).toContain('nameserver dns 127.0.0.11:53');
  });

  it('agrees on everything but listen addresses, maxconn and the server list', () => {
    for (const [section, lines] of theirs) {
      expect(without(ours.get(section), 'bind ', 'maxconn ', 'server ', 'server-template '), section).toEqual(
        without(lines, 'bind ', 'maxconn ', 'server ', 'server-template ', '@SERVERS@'),
      );
    }
  });

  it('finds the compose servers by DNS on their PORT, with the health check of the cluster', () => {
    const backend = ours.get('backend prism_servers') ?? [];
    const template = backend.find((l) => l.startsWith('server-template '));
    expect(template).toMatch(
      new RegExp(`^server-template server- (\\d+) server:${PORTS.server} .*resolvers docker.*init-addr none`),
    );
    expect(Number(/^server-template server- (\d+)/.exec(template!)![1])).toBeGreaterThanOrEqual(
      cluster.servers,
    );
    expect(backend).toContain('balance roundrobin');
    expect(backend).toContain('http-check send meth GET uri /health');
    expect(ours.get('frontend prism')).toContain('bind :8080');
  });

  it.skipIf(!haveHaproxy)('both configs pass haproxy -c', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'prism-haproxy-'));
    try {
      const rendered = template
        .replaceAll('@MAXCONN@', '1000')
        .replaceAll('@BIND@', '127.0.0.1')
        .replaceAll('@CLUSTER_PORT@', '8080')
        .replaceAll('@STATS_PORT@', '8180')
        .replaceAll('@SERVERS@', '    server server-1 127.0.0.1:8181\n    server server-2 127.0.0.1:8182');
      writeFileSync(path.join(dir, 'cluster.cfg'), rendered);
      writeFileSync(path.join(dir, 'compose.cfg'), composeCfg);
      for (const file of ['cluster.cfg', 'compose.cfg']) {
        execFileSync('haproxy', ['-c', '-q', '-f', path.join(dir, file)], { stdio: 'pipe' });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Dockerfile and .dockerignore', () => {
  const stages = dockerStages(repoFile('Dockerfile'));
  const stage = (name: string) => {
    const found = stages.find((s) => s.name === name);
    if (!found) throw new Error(`no stage ${name}`);
    return found;
  };
  const args = (name: string, keyword: string) =>
    stage(name)
      .instructions.filter(([k]) => k === keyword)
      .map(([, a]) => a);

  it('has the targets compose builds, the server last (the default target)', () => {
    expect(stages.map((s) => s.name)).toEqual(expect.arrayContaining(['server', 'worker']));
    expect(stages.at(-1)?.name).toBe('server');
  });

  it('installs from the lockfile, falling back to npm install (see the comment there)', () => {
    const runs = stages.flatMap((s) =>
      s.instructions.filter(([k, a]) => k === 'RUN' && /npm (ci|install)/.test(a)),
    );
    expect(runs.length).toBeGreaterThan(0);
    for (const [, run] of runs) expect(run).toMatch(/npm ci\b[^|]*\|\| npm install\b/);
    for (const name of ['server-deps', 'worker-deps'])
      expect(args(name, 'RUN').join(' ')).toContain('--omit=dev');
  });

  it('runs the entry points of cluster.sh, exec form, as an unprivileged user, with a health check', () => {
    for (const [name, entry, port, portVar] of [
      ['server', cluster.serverEntry, PORTS.server, 'PORT'],
      ['worker', cluster.workerEntry, PORTS.workerHealth, 'WORKER_HEALTH_PORT'],
    ] as const) {
      expect(JSON.parse(args(name, 'CMD').at(-1)!)).toEqual(['node', entry]);
      expect(args(name, 'USER').at(-1)).toBe('node');
      const health = args(name, 'HEALTHCHECK').join(' ');
      expect(health).toContain('/health');
      expect(health).toContain(`process.env.${portVar}`);
      expect(health).toContain(String(port));
      expect(args(name, 'EXPOSE')).toEqual([String(port)]);
      // Compose's healthchecks and depends_on rely on it: its environment sets the same port.
      expect(env(name)[portVar]).toBe(String(port));
    }
    expect(args('runtime', 'ENV').join(' ')).toContain('NODE_ENV=production');
    // The server serves the web build next to its bundle (server/src/app.ts: ../../web/build).
    expect(args('server', 'COPY').join(' ')).toContain('/app/web/build web/build');
    expect(args('worker', 'COPY').join(' ')).not.toContain('web/build');
  });

  it('keeps installed packages, local data, build output and caches out of the context', () => {
    const patterns = dockerignorePatterns();
    for (const file of [
      'node_modules/express/index.js',
      'web/node_modules/$app/tsconfig.json',
      '.data/objects/x.docx',
      'infra/cdk.out/manifest.json',
      'loadtest/results/summary.json',
      'server/dist/main.js',
      'web/build/index.html',
      'web/.svelte-kit/output/x.js',
      '.env',
      'infra/lib/prism-stack.ts',
      'server/src/config.test.ts',
    ]) {
      expect(dockerIgnored(patterns, file), file).toBe(true);
    }
  });

  it('keeps everything the Dockerfile copies', () => {
    const patterns = dockerignorePatterns();
    const sources = stages.flatMap((s) =>
      s.instructions
        .filter(([k, a]) => k === 'COPY' && !a.startsWith('--from'))
        .flatMap(([, a]) => a.split(/\s+/).slice(0, -1)),
    );
    expect(sources).toContain('package-lock.json');
    for (const source of sources) expect(dockerIgnored(patterns, source), source).toBe(false);
    for (const file of [
      'core/src/index.ts',
      'store/src/index.ts',
      'server/src/main.ts',
      'worker/src/main.ts',
      'worker/src/ai/models.ts',
      'web/vite.config.ts',
      'web/src/app.html',
      'scripts/bundle.mjs',
    ]) {
      expect(dockerIgnored(patterns, file), file).toBe(false);
    }
  });
});
