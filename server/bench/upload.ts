/**
 * An upload that used to stall a server: a 7 MB .docx whose word/document.xml inflates to 40 MB.
 * One built server process (server/dist, so the bundled parse thread is what runs), on Redis; the
 * bench asks its /health one request after another, first idle (the machine's own floor), then
 * during a first small upload (which starts the parse thread), while it posts that file, then while the server sections a document of 50,000 headings (refused
 * by MAX_SECTIONS after seconds of parsing in its thread) and the corpus's 872-page handbook
 * (accepted). Prints the time to each answer and the /health latency p50 / p95 / max during it.
 *
 *   npm run bench:upload
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { deleteKeys } from '@prism/store';
import { Redis } from 'ioredis';
import { bigTextDocx, headingsDocx } from '../test/docx-builders.ts';
import { makeDoc, session } from './doc.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `bench-upload:${randomBytes(3).toString('hex')}:`;
const HANDBOOK = `${ROOT}../shared/corpus/docx/unstructured-handbook-872p.docx`;

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

async function startServer(): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['server/dist/main.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      PORT: String(port),
      METRICS_PORT: String(await freePort()),
      STORAGE_URL: `file:${ROOT}.data/bench-upload/${PREFIX.replaceAll(':', '_')}`,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i += 1) {
    const ok = await fetch(`${url}/health`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return { proc, url };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  proc.kill();
  throw new Error('the server did not become healthy');
}

interface Reading {
  ms: number;
  answer: string;
  health: { n: number; p50: number; p95: number; max: number };
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

/** `work` while /health is asked one request after another. */
async function measure(url: string, work: () => Promise<string>): Promise<Reading> {
  const latencies: number[] = [];
  let running = true;
  const poll = (async () => {
    while (running) {
      const started = performance.now();
      await (await fetch(`${url}/health`)).arrayBuffer();
      latencies.push(performance.now() - started);
    }
  })();
  const started = performance.now();
  const answer = await work();
  const ms = performance.now() - started;
  running = false;
  await poll;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    ms,
    answer,
    health: {
      n: sorted.length,
      p50: quantile(sorted, 0.5),
      p95: quantile(sorted, 0.95),
      max: sorted.at(-1)!,
    },
  };
}

async function post(url: string, token: string, file: Uint8Array): Promise<string> {
  const form = new FormData();
  form.set('file', new Blob([file]), 'bench.docx');
  const res = await fetch(`${url}/api/reviews`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  const body = (await res.json()) as { error?: { code: string }; review?: { sections: unknown[] } };
  return `${res.status} ${body.error?.code ?? `${body.review?.sections.length} sections`}`;
}

const text40 = await bigTextDocx(40 * 1024 * 1024);
const headings = await headingsDocx(50_000);
const handbook = readFileSync(HANDBOOK);
const { proc, url } = await startServer();
try {
  const token = await session(url, 'Bench');
  const idle = await measure(url, () => new Promise((resolve) => setTimeout(() => resolve('-'), 2000)));
  const rows: [string, Reading][] = [['idle, 2 s', idle]];
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  // A server's first upload also starts its parse thread (loading the parsers): shown apart.
  rows.push([
    'first upload, a 2-section report',
    await measure(url, async () => post(url, token, await makeDoc())),
  ]);
  rows.push([
    `40 MB text part (${mb(text40.file.length)} file)`,
    await measure(url, () => post(url, token, text40.file)),
  ]);
  rows.push([
    `50,000 headings (${mb(headings.length)} file)`,
    await measure(url, () => post(url, token, headings)),
  ]);
  rows.push([
    `872-page handbook (${mb(handbook.length)})`,
    await measure(url, () => post(url, token, handbook)),
  ]);
  const f = (n: number) => `${n.toFixed(1)} ms`;
  console.log('\n| upload | answer | time to answer | /health p50 | p95 | max | /health answers |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [label, r] of rows) {
    console.log(
      `| ${label} | ${r.answer} | ${label.startsWith('idle') ? '-' : f(r.ms)} | ${f(r.health.p50)} | ${f(r.health.p95)} | ${f(r.health.max)} | ${r.health.n} |`,
    );
  }
} finally {
  proc.kill('SIGTERM');
  await new Promise((resolve) => proc.once('exit', resolve));
  const redis = new Redis(REDIS_URL);
  await deleteKeys(redis, PREFIX);
  redis.disconnect();
}
