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
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deleteKeys } from '@prism/store';
import { Redis } from 'ioredis';
import { bigTextDocx, headingsDocx } from '../test/docx-builders.ts';
import { makeDoc, session } from './doc.ts';
import { REDIS_URL, ROOT, startPrism, stopProcess } from './spawn.ts';

const PREFIX = `bench-upload:${randomBytes(3).toString('hex')}:`;
const HANDBOOK = `${ROOT}../shared/corpus/docx/unstructured-handbook-872p.docx`;

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
const { proc, url } = await startPrism({
  prefix: PREFIX,
  name: 'bench-upload',
  env: { STORAGE_URL: `file:${ROOT}.data/bench-upload/${PREFIX.replaceAll(':', '_')}` },
  readyPath: '/health',
});
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
  await stopProcess(proc);
  const redis = new Redis(REDIS_URL);
  await deleteKeys(redis, PREFIX);
  redis.disconnect();
}
