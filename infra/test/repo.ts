/**
 * Reading the repository's own descriptions for the consistency tests: the environment variables
 * each process's config schema reads, .env.example, scripts/cluster.sh, the compose file (with
 * compose's ${...} interpolation), HAProxy configs, the Dockerfile and .dockerignore.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { REPO_ROOT } from '../lib/task.ts';

export const repoFile = (relative: string): string => readFileSync(path.join(REPO_ROOT, relative), 'utf8');

// --- Environment schemas ------------------------------------------------------------------------

/** Keys of a zod object written one per line at two spaces of indentation (`  NAME: optional(...)`). */
const schemaKeys = (source: string): string[] =>
  [...source.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);

/** Every variable a process reads (its config schema, with the shared part from core). */
export function envKeys(runtime: 'server' | 'worker'): Set<string> {
  return new Set([
    ...schemaKeys(repoFile('core/src/env.ts')),
    ...schemaKeys(repoFile(`${runtime}/src/config.ts`)),
    // The server's sign-in variables are composed into its schema from their own module.
    ...(runtime === 'server' ? schemaKeys(repoFile('server/src/http/oidc-config.ts')) : []),
  ]);
}

/** Variables documented in .env.example (CONTRACT section 2). */
export const documentedKeys = (): Set<string> =>
  new Set([...repoFile('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));

/** Read by the AWS SDK's credential chain rather than by Prism's schemas. */
export const AWS_SDK_KEYS = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);

// --- scripts/cluster.sh -------------------------------------------------------------------------

export interface ClusterScript {
  servers: number;
  workers: number;
  port: number;
  /** Variables cluster.sh sets per child, beyond what passes through from its environment. */
  serverVars: string[];
  workerVars: string[];
  serverEntry: string;
  workerEntry: string;
  stopGraceSeconds: number;
}

export function clusterScript(): ClusterScript {
  const source = repoFile('scripts/cluster.sh');
  const def = (variable: string, name: string): string => {
    const match = new RegExp(`^${variable}=\\$\\{${name}:-([^}]+)\\}`, 'm').exec(source);
    if (!match) throw new Error(`scripts/cluster.sh: no default for ${name}`);
    return match[1]!;
  };
  // env_by_name[$name]="PORT=... METRICS_PORT=..." in the server loop, then the worker loop.
  const envLines = [...source.matchAll(/env_by_name\[\$name\]="([^"]*)"/g)].map((m) => m[1]!);
  if (envLines.length !== 2)
    throw new Error('scripts/cluster.sh: expected one server and one worker env line');
  const names = (line: string) => [...line.matchAll(/(?:^|\s)([A-Z][A-Z0-9_]*)=/g)].map((m) => m[1]!);
  const spawn = /prism_spawn pid env ("[^"]*")/.exec(source);
  const spawned = spawn ? names(spawn[1]!.replaceAll('"', ' ')) : [];
  return {
    servers: Number(def('NSERVERS', 'CLUSTER_SERVERS')),
    workers: Number(def('NWORKERS', 'CLUSTER_WORKERS')),
    port: Number(def('CLUSTER_PORT', 'CLUSTER_PORT')),
    serverVars: [...spawned, ...names(envLines[0]!)],
    workerVars: [...spawned, ...names(envLines[1]!)],
    serverEntry: def('SERVER_ENTRY', 'PRISM_SERVER_ENTRY'),
    workerEntry: def('WORKER_ENTRY', 'PRISM_WORKER_ENTRY'),
    stopGraceSeconds: Number(def('GRACE', 'PRISM_STOP_GRACE_S')),
  };
}

// --- docker-compose.yml -------------------------------------------------------------------------

interface YamlModule {
  parse(source: string, options?: Record<string, unknown>): unknown;
}

/**
 * A YAML parser: the `yaml` package when installed, else the copy aws-cdk-lib bundles (the repository
 * does not depend on `yaml` itself; see infra/README.md).
 */
function yaml(): YamlModule {
  const require = createRequire(import.meta.url);
  try {
    return require('yaml') as YamlModule;
  } catch {
    return require(
      path.join(path.dirname(require.resolve('aws-cdk-lib')), 'node_modules', 'yaml'),
    ) as YamlModule;
  }
}

export interface ComposeService {
  image?: string;
  build?: { context: string; target?: string; dockerfile?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string; interval?: string };
  deploy?: { replicas?: number };
  init?: boolean;
  stop_grace_period?: string;
  container_name?: string;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** docker-compose.yml as written (before interpolation); YAML merge keys applied. */
export const composeFile = (): ComposeFile =>
  yaml().parse(repoFile('docker-compose.yml'), { merge: true }) as ComposeFile;

/**
 * Compose's interpolation: $$, $NAME, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error},
 * ${NAME?error} (defaults may nest). Throws the error text of a required variable that is unset.
 */
export function interpolate(value: string, env: Record<string, string | undefined>): string {
  let out = '';
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (c !== '$') {
      out += c;
      i += 1;
      continue;
    }
    const next = value[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      let depth = 1;
      let j = i + 2;
      while (j < value.length && depth > 0) {
        if (value[j] === '{') depth += 1;
        else if (value[j] === '}') depth -= 1;
        j += 1;
      }
      if (depth !== 0) throw new Error(`unclosed \${ in ${value}`);
      const body = value.slice(i + 2, j - 1);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([\s\S]*))?$/.exec(body);
      if (!m) throw new Error(`invalid interpolation \${${body}}`);
      const [, name, colon, op, rest] = m;
      const current = env[name!];
      const unset = current === undefined || (colon === ':' && current === '');
      if (!op || !unset) out += current ?? '';
      else if (op === '-') out += interpolate(rest ?? '', env);
      else throw new Error(`required variable ${name}: ${interpolate(rest ?? '', env)}`);
      i = j;
    } else if (next && /[A-Za-z_]/.test(next)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(value.slice(i + 1))!;
      out += env[m[0]] ?? '';
      i += 1 + m[0].length;
    } else {
      throw new Error(`invalid $ at ${i} in ${value}`);
    }
  }
  return out;
}

/** Every string of a value (arrays and objects walked), for interpolation checks. */
export function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

// --- HAProxy --------------------------------------------------------------------------------------

/** Sections ("frontend prism" -> its lines), comments and blank lines dropped, spaces collapsed. */
export function haproxySections(source: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of source.split('\n')) {
    const line = raw.replace(/#.*$/, '').trimEnd();
    if (!line.trim()) continue;
    // A placeholder line (@SERVERS@ in the template) belongs to the section it is in.
    if (!/^\s/.test(line) && !/^@[A-Z_]+@$/.test(line)) {
      current = [];
      sections.set(line.trim().replace(/\s+/g, ' '), current);
    } else {
      current?.push(line.trim().replace(/\s+/g, ' '));
    }
  }
  return sections;
}

// --- Dockerfile and .dockerignore -----------------------------------------------------------------

export interface DockerStage {
  name: string;
  from: string;
  /** Instructions with continuation lines joined: ["RUN", "npm ci ..."]. */
  instructions: [string, string][];
}

export function dockerStages(source: string): DockerStage[] {
  const joined = source.replace(/\\\n/g, ' ');
  const stages: DockerStage[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [keyword, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword!.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args)!;
      stages.push({ name: m[2] ?? String(stages.length), from: m[1]!, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push([keyword!.toUpperCase(), args]);
    }
  }
  return stages;
}

/** .dockerignore semantics: the last pattern matching a path or one of its parent folders wins. */
export function dockerIgnored(patterns: string[], file: string): boolean {
  const toRegex = (pattern: string): RegExp => {
    let re = '';
    for (let i = 0; i < pattern.length; i += 1) {
      const c = pattern[i]!;
      if (c === '*' && pattern[i + 1] === '*') {
        i += 1;
        if (pattern[i + 1] === '/') {
          re += '(?:.*/)?';
          i += 1;
        } else re += '.*';
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
  };
  const parts = file.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = path.posix.normalize((negate ? raw.slice(1) : raw).replace(/^\/+/, ''));
    const re = toRegex(pattern);
    if (candidates.some((c) => re.test(c))) ignored = !negate;
  }
  return ignored;
}

export const dockerignorePatterns = (): string[] =>
  repoFile('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
