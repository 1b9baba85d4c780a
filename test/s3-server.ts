/**
 * A real S3-compatible server for storage tests: versitygw (a small Go gateway that serves a local
 * directory over the S3 API), built once with `go install` into a cache outside the repository and
 * run on loopback with a temporary data directory.
 *
 * `VERSITYGW_BIN` points at a prebuilt binary; `PRISM_BIN_DIR` moves the cache
 * (default `~/.cache/prism/bin`).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './free-port.ts';

/** The versitygw release built here; its module has no replace directives, so `go install` works. */
export const VERSITYGW_VERSION = 'v1.8.0';
const MODULE = 'github.com/versity/versitygw/cmd/versitygw';
const BUILD_TIMEOUT_MS = 20 * 60_000;

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface S3TestServer {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The server's data directory (one sub-directory per bucket). */
  dir: string;
  stop(): Promise<void>;
}

const binDir = (): string => process.env.PRISM_BIN_DIR ?? join(homedir(), '.cache', 'prism', 'bin');

/**
 * The versitygw binary, built on first use (a couple of minutes with a cold Go cache) and reused.
 * A lock file keeps parallel test workers from building it twice.
 */
export async function versitygwBinary(): Promise<string> {
  if (process.env.VERSITYGW_BIN) return process.env.VERSITYGW_BIN;
  const dir = binDir();
  const bin = join(dir, 'versitygw');
  const stamp = join(dir, 'versitygw.version');
  const ready = async (): Promise<boolean> =>
    existsSync(bin) && (await readFile(stamp, 'utf8').catch(() => '')).trim() === VERSITYGW_VERSION;
  if (await ready()) return bin;

  await mkdir(dir, { recursive: true });
  const lock = join(dir, 'versitygw.lock');
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch {
      // Someone else is building. A lock whose builder is gone (killed with its test run), or
      // older than the build timeout, is left over: take it.
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      const builder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (age > BUILD_TIMEOUT_MS || (age > 2000 && !alive(builder))) await rm(lock, { force: true });
      if (await ready()) return bin;
      if (Date.now() > deadline) throw new Error(`timed out waiting for another versitygw build (${lock})`);
      await sleep(1000);
    }
  }
  try {
    if (await ready()) return bin;
    const started = Date.now();
    try {
      await run('go', ['install', `${MODULE}@${VERSITYGW_VERSION}`], {
        env: { ...process.env, GOBIN: dir, CGO_ENABLED: '0' },
        timeout: BUILD_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(
        `could not build versitygw ${VERSITYGW_VERSION} with go install (is Go installed?): ${stderr.slice(-2000) || String(error)}`,
      );
    }
    await writeFile(stamp, `${VERSITYGW_VERSION}\n`);
    console.log(`built versitygw ${VERSITYGW_VERSION} in ${Math.round((Date.now() - started) / 1000)} s`);
    return bin;
  } finally {
    await rm(lock, { force: true });
  }
}

/** Whether a process with this pid exists (a lock without a pid counts as dead). */
function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Resolves once the server answers HTTP (any status: unsigned requests get 403). */
async function waitUntilAnswering(
  endpoint: string,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`versitygw exited at start: ${output()}`);
    try {
      const res = await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`versitygw did not answer at ${endpoint} within 20 s: ${output()}`);
}

/** Starts versitygw on a free loopback port over a fresh temporary directory, with one bucket. */
export async function startS3Server(options: { bucket?: string } = {}): Promise<S3TestServer> {
  const bin = await versitygwBinary();
  const bucket = options.bucket ?? 'prism-test';
  const region = 'us-east-1';
  const accessKeyId = 'prismtestaccess';
  const secretAccessKey = 'prismtestsecret-0123456789';
  const dir = await mkdtemp(join(tmpdir(), 'prism-s3-'));

  let child: ChildProcess | undefined;
  let endpoint = '';
  let lastError: unknown;
  // The port is free when picked but could be taken before versitygw binds it: try a few.
  for (let attempt = 0; attempt < 3 && !endpoint; attempt += 1) {
    const port = await freePort();
    let output = '';
    const candidate = spawn(
      bin,
      [
        '--access',
        accessKeyId,
        '--secret',
        secretAccessKey,
        '--region',
        region,
        '--port',
        `127.0.0.1:${port}`,
        '--quiet',
        'posix',
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    candidate.stdout?.on('data', collect);
    candidate.stderr?.on('data', collect);
    candidate.on('error', collect.bind(null, Buffer.from('spawn failed\n')));
    try {
      await waitUntilAnswering(`http://127.0.0.1:${port}/`, candidate, () => output);
      child = candidate;
      endpoint = `http://127.0.0.1:${port}`;
    } catch (error) {
      lastError = error;
      candidate.kill('SIGKILL');
      await waitForExit(candidate, 2000);
    }
  }
  if (!child || !endpoint) {
    await rm(dir, { recursive: true, force: true });
    throw lastError instanceof Error ? lastError : new Error('versitygw did not start');
  }

  const server = child;
  const stop = async (): Promise<void> => {
    if (!exited(server)) {
      server.kill('SIGTERM');
      if (!(await waitForExit(server, 5000))) {
        server.kill('SIGKILL');
        await waitForExit(server, 2000);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const client = new S3Client({
      endpoint,
      region,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
    });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, bucket, region, accessKeyId, secretAccessKey, dir, stop };
}
