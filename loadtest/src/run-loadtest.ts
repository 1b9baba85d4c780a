/**
 * For the load tests' own tests: a Prism to load (one server, one worker with the rules provider),
 * and `scripts/loadtest.sh` run against it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, startServer, startWorker } from '../../test/helpers.ts';
import { RulesProvider } from '../../worker/src/ai/rules.ts';

/** A server (its objects under `dir`) and a worker on `prefix`; resolves with the server. */
export async function startTarget(prefix: string, dir: string) {
  const env = {
    // All reviewers come from this machine (as in scripts/loadtest.sh's cluster).
    RATE_LIMIT_SESSIONS_PER_IP: '1000000',
    RATE_LIMIT_UPLOADS_PER_IP: '1000000',
    RATE_LIMIT_INVITES_PER_IP: '1000000',
  };
  const server = await startServer(prefix, { env, objectsDir: join(dir, 'objects') });
  await startWorker(prefix, new RulesProvider());
  return server;
}

/**
 * Runs `scripts/loadtest.sh <args>` from the repository's root with `env` over this process's
 * environment; resolves with its exit code and everything it printed.
 */
export function runLoadtest(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/loadtest.sh', ...args], {
      cwd: ROOT,
      // startTarget's rules provider answers at once: no model time to take off the TTFT.
      env: { ...process.env, PRISM_SKIP_INSTALL: '1', STANDIN_TTFT_MS: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
