/**
 * The library's list and search for a workspace of 1,000 reviews with real document text.
 * Each review's search text comes from a document of the corpus (its distinct words, as upload
 * stores them; nine reports, policies and manuals in turn, and one review in a hundred the
 * 872-page handbook), its words reordered and a sixth of them dropped so no two reviews are the same,
 * plus one word of its own; sections are the document's. Records are written straight to the
 * library store (uploading 1,000 documents would measure the parser). Then built server processes
 * (server/dist, as deployed) answer `GET /api/reviews`:
 *
 *   cold     the first request of a fresh server process (nothing cached), 5 processes each
 *   warm     after the index is built, one request after another
 *   changing the same, with another review's progress changing before each request (people at work)
 *
 * without `q`, and with `q` (one word, two words, a word being typed). Prints p50 / p95 / max in
 * ms and the answer's size. Target: under 100 ms.
 *
 *   npm run bench:library
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extractSections, type SectionRef } from '@prism/core';
import { deleteKeys, LibraryStore, userReviewsKey } from '@prism/store';
import { Redis } from 'ioredis';
import { searchText } from '../src/domain/library-text.ts';
import { post, session } from './doc.ts';
import { REDIS_URL, ROOT, type Started, startPrism, stopProcess } from './spawn.ts';

const CORPUS = `${ROOT}../shared/corpus/docx/`;
const PREFIX = `bench-library:${randomBytes(3).toString('hex')}:`;
const REVIEWS = Number(process.env.BENCH_REVIEWS ?? 1000);
const WARM_REQUESTS = 100;
const COLD_PROCESSES = 5;

/** Reports, policies, manuals and an exam in several languages: what teams review. */
const DOCUMENTS = [
  'docx4j-getting-started.docx',
  'openxmlsdk-wgig-background-report.docx',
  'poi-ru-calendar-bold-sections.docx',
  'poi-stress011-ar-un-crc.docx',
  'poi-stress018-es-policy-numbered.docx',
  'docling-rich-tables-3mb.docx',
  'openxmlsdk-zh-exam-bold-sections.docx',
  'docx4j-contributor-agreement-libreoffice.docx',
  'poi-stress019-ja-proposal.docx',
];
/** One review in a hundred is the corpus's 872-page handbook (680 sections). */
const HANDBOOK = 'unstructured-handbook-872p.docx';

const startServer = (): Promise<Started> =>
  startPrism({
    prefix: PREFIX,
    name: 'bench-library',
    env: { STORAGE_URL: `file:${ROOT}.data/bench-library/${PREFIX.replaceAll(':', '_')}` },
    readyPath: '/health',
  });

/** A deterministic shuffle (so every run writes the same library). */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed || 1;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

const summary = (times: number[]): string => {
  const sorted = [...times].sort((a, b) => a - b);
  const f = (ms: number): string => ms.toFixed(1).padStart(7);
  return `p50 ${f(quantile(sorted, 0.5))}  p95 ${f(quantile(sorted, 0.95))}  max ${f(sorted.at(-1)!)}`;
};

async function timed(
  url: string,
  token: string,
  query: string,
): Promise<{ ms: number; count: number; bytes: number }> {
  const started = performance.now();
  const res = await fetch(`${url}/api/reviews${query}`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.text();
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`GET /api/reviews${query}: ${res.status} ${body}`);
  return { ms, count: (JSON.parse(body) as { reviews: unknown[] }).reviews.length, bytes: body.length };
}

const redis = new Redis(REDIS_URL);
const servers: ChildProcess[] = [];
try {
  process.stdout.write(`parsing ${DOCUMENTS.length + 1} corpus documents... `);
  const sources: { words: string[]; sections: SectionRef[] }[] = [];
  for (const name of [...DOCUMENTS, HANDBOOK]) {
    const { sections } = await extractSections(readFileSync(`${CORPUS}${name}`));
    sources.push({
      words: searchText('', sections).split(' '),
      sections: sections.map(({ id, title, level, index }) => ({ id, title, level, index })),
    });
  }
  console.log('done');

  // The person, signed in on a first server; their 1,000 reviews written to the library.
  const first = await startServer();
  servers.push(first.proc);
  const token = await session(first.url, 'Bench');
  const me = (await (
    await fetch(`${first.url}/api/me`, { headers: { authorization: `Bearer ${token}` } })
  ).json()) as {
    user: { id: string; name: string };
  };
  const { workspace } = await post<{ workspace: { id: string } }>(
    first.url,
    '/api/workspaces',
    { name: 'Bench team' },
    token,
  );
  const workspaceId = workspace.id;
  const library = new LibraryStore(redis, PREFIX);
  const ids: string[] = [];
  let chars = 0;
  const started = Date.now() - REVIEWS * 60_000;
  for (let i = 0; i < REVIEWS; i += 1) {
    const source = i % 100 === 99 ? sources.at(-1)! : sources[i % DOCUMENTS.length]!;
    const text = `${shuffled(source.words, i + 1)
      .filter((_, n) => (n + i) % 6 !== 0)
      .join(' ')} benchword${i}`;
    chars += text.length;
    const id = `r_bench${i}`;
    ids.push(id);
    const at = new Date(started + i * 60_000).toISOString();
    await library.record({
      id,
      title: `Review ${i}: ${source.words.slice(0, 4).join(' ')}`,
      owner: me.user,
      workspaceId,
      createdAt: at,
      sections: source.sections,
      progress: { decided: i % 7, total: 10 },
      ...(i % 5 === 0 ? { status: 'submitted' as const, submitted: { by: me.user, at } } : {}),
      text,
    });
  }
  await redis.sadd(userReviewsKey(PREFIX, me.user.id), ...ids);
  const inWorkspace = `?workspaceId=${workspaceId}`;
  console.log(
    `${REVIEWS} reviews, search text ${(chars / 1e6).toFixed(1)} M characters (avg ${Math.round(chars / REVIEWS)}), ` +
      `sections ${sources.map((s) => s.sections.length).join('/')} per document`,
  );

  const vocabulary = sources.flatMap((s) => s.words.filter((w) => /^\p{L}{4,}$/u.test(w)));
  const pick = (n: number): string => vocabulary[(n * 7919) % vocabulary.length]!;
  const queries = [
    (n: number) => `${inWorkspace}&q=${encodeURIComponent(pick(n))}`,
    (n: number) => `${inWorkspace}&q=${encodeURIComponent(`${pick(n)} ${pick(n + 1)}`)}`,
    (n: number) => `${inWorkspace}&q=${encodeURIComponent(pick(n).slice(0, 3))}`,
    (n: number) => `${inWorkspace}&q=benchword${n % REVIEWS}&status=open`,
  ];
  const withQ = (n: number): string => queries[n % queries.length]!(n);

  const rows: string[] = [];
  const report = (label: string, readings: { ms: number; count: number; bytes: number }[]): void => {
    const counts = readings.map((r) => r.count);
    const kb = readings.reduce((sum, r) => sum + r.bytes, 0) / readings.length / 1024;
    rows.push(
      `${label.padEnd(34)} ${summary(readings.map((r) => r.ms))}   (n=${readings.length}, ` +
        `${Math.min(...counts)}-${Math.max(...counts)} reviews, ${kb.toFixed(0)} KB)`,
    );
    console.log(rows.at(-1));
  };

  // Cold: fresh processes, the first request each (no q on some, q on others).
  const coldList: { ms: number; count: number; bytes: number }[] = [];
  const coldSearch: { ms: number; count: number; bytes: number }[] = [];
  for (let p = 0; p < COLD_PROCESSES; p += 1) {
    for (const [kind, readings] of [
      ['list', coldList],
      ['search', coldSearch],
    ] as const) {
      const server = await startServer();
      readings.push(await timed(server.url, token, kind === 'list' ? inWorkspace : withQ(p)));
      await stopProcess(server.proc);
    }
  }
  report('cold, no q', coldList);
  report('cold, q (answered by a scan)', coldSearch);

  // Warm: one server, its index built.
  const warm = await startServer();
  servers.push(warm.proc);
  await timed(warm.url, token, withQ(0));
  // Searches during the build are scans; wait until the index answers (its build yields often).
  const building: { ms: number; count: number; bytes: number }[] = [];
  const buildStarted = performance.now();
  for (let n = 1; n <= 40; n += 1) building.push(await timed(warm.url, token, withQ(n)));
  report('q while the index builds', building);
  await new Promise((resolve) => setTimeout(resolve, 15_000 - (performance.now() - buildStarted)));
  const warmList: { ms: number; count: number; bytes: number }[] = [];
  const warmSearch: { ms: number; count: number; bytes: number }[] = [];
  for (let n = 0; n < WARM_REQUESTS; n += 1) {
    warmList.push(await timed(warm.url, token, inWorkspace));
    warmSearch.push(await timed(warm.url, token, withQ(n)));
  }
  report('warm, no q', warmList);
  report('warm, q', warmSearch);
  const changingList: { ms: number; count: number; bytes: number }[] = [];
  const changingSearch: { ms: number; count: number; bytes: number }[] = [];
  for (let n = 0; n < WARM_REQUESTS; n += 1) {
    await library.touch(ids[n % ids.length]!, new Date().toISOString(), { decided: n % 10, total: 10 });
    changingList.push(await timed(warm.url, token, inWorkspace));
    await library.touch(ids[(n + 500) % ids.length]!, new Date().toISOString(), {
      decided: n % 10,
      total: 11,
    });
    changingSearch.push(await timed(warm.url, token, withQ(n)));
  }
  report('changing, no q', changingList);
  report('changing, q', changingSearch);
  console.log(
    `\n${REVIEWS} reviews, one workspace's library (GET /api/reviews?workspaceId=), ms:\n${rows.join('\n')}`,
  );
} finally {
  await Promise.all(servers.map((proc) => stopProcess(proc)));
  await deleteKeys(redis, PREFIX);
  redis.disconnect();
}
