/**
 * The workspace rubric library (CONTRACT 7.4) through two servers on one Redis: members read it
 * (the built-in default always first), admins create, edit (a new version each time), duplicate
 * and import checkpoints from a guidelines .docx; outsiders and bad bodies are refused with
 * stable codes. An upload that picks a rubric keeps it at the version it started with: the
 * snapshot shows it, a later edit does not change it, and the rules provider's checklist gives
 * every one of its checkpoints a verdict. On Bedrock (the local ConverseStream stand-in) every
 * call's cached system prompt lists that rubric's checkpoints, not the default's.
 */
import { type ChecklistEntry, DEFAULT_REVIEW_RUBRIC, type ReviewEvent, type Rubric } from '@prism/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandIn, startBedrockStandIn } from '../../test/bedrock/stand-in.ts';
import {
  api,
  call,
  cleanupKeys,
  connect,
  corpus,
  makeDocx,
  type Person,
  ReviewFeed,
  session,
  startServer,
  startWorker,
  testRedis,
  uniquePrefix,
  upload,
  waitFor,
  workspaceWith,
} from '../../test/helpers.ts';
import { RulesProvider } from '../../worker/src/ai/rules.ts';
import { standInProvider } from '../../worker/test/stand-in-provider.ts';
import { createRateLimits, UPLOADS_PER_PERSON } from '../src/infra/rate-limit.ts';

const MODEL = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';
const redis = testRedis();

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startBedrockStandIn({ tokensPerSecond: 2000, firstTokenMs: 5 });
});
afterAll(async () => {
  await standIn.close();
});

type Body = Record<string, any>;

async function send(url: string, person: Person, path: string, method: string, body?: unknown) {
  const res = await api(url, person.token, path, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Body };
}

async function importDocx(url: string, person: Person, workspaceId: string, file: Uint8Array, name: string) {
  const form = new FormData();
  form.set('file', new Blob([file]), name);
  const res = await fetch(`${url}/api/workspaces/${workspaceId}/rubrics/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${person.token}` },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as Body };
}

const INCIDENT = {
  name: 'Incident reports',
  checkpoints: [
    { title: 'Customer impact', description: 'Says how many customers were affected and for how long.' },
    { title: 'Owner for every action', description: 'Each action names one owner.', required: true },
    { title: 'Glossary', description: 'Terms are defined.', required: false },
  ],
};

/** A workspace with Ada its admin and Bob a member (invited on the other server); Eve is outside. */
async function team(name: string) {
  const prefix = uniquePrefix(name);
  cleanupKeys(prefix);
  const one = await startServer(prefix);
  const two = await startServer(prefix);
  const ada = await session(one.url, 'Ada');
  const bob = await session(two.url, 'Bob');
  const eve = await session(one.url, 'Eve');
  const ws = await workspaceWith(one.url, ada, 'Ops', [bob], two.url);
  return { prefix, one, two, ada, bob, eve, ws };
}

describe('the rubric library', () => {
  it('members read it, admins write it; each edit is a new version; the default is read-only; bad bodies get codes', async () => {
    const { one, two, ada, bob, eve, ws } = await team('rubrics-crud');
    const path = `/api/workspaces/${ws}/rubrics`;

    // A new workspace has only the built-in default.
    const empty = await send(two.url, bob, path, 'GET');
    expect(empty.status).toBe(200);
    expect(empty.body.rubrics).toEqual([DEFAULT_REVIEW_RUBRIC]);

    const created = await send(one.url, ada, path, 'POST', INCIDENT);
    expect(created.status).toBe(201);
    const rubric = created.body.rubric as Rubric;
    expect(rubric).toMatchObject({
      id: expect.stringMatching(/^rb_/),
      name: 'Incident reports',
      version: 1,
      checkpoints: [
        { n: 1, title: 'Customer impact', required: true },
        { n: 2, title: 'Owner for every action', required: true },
        { n: 3, title: 'Glossary', required: false },
      ],
    });

    // A member sees it on the other server; an outsider sees nothing; a member cannot write.
    const listed = await send(two.url, bob, path, 'GET');
    expect(listed.body.rubrics.map((r: Rubric) => [r.id, r.version])).toEqual([
      ['default', 1],
      [rubric.id, 1],
    ]);
    expect((await send(two.url, eve, path, 'GET')).status).toBe(403);
    expect((await send(two.url, eve, `${path}/${rubric.id}`, 'GET')).status).toBe(403);
    expect((await send(two.url, bob, path, 'POST', INCIDENT)).body.error?.code).toBe('forbidden');
    expect((await send(two.url, bob, `${path}/${rubric.id}`, 'PUT', INCIDENT)).status).toBe(403);
    expect((await send(two.url, eve, `${path}/${rubric.id}`, 'PUT', INCIDENT)).status).toBe(403);
    expect((await send(two.url, bob, `${path}/${rubric.id}/duplicate`, 'POST', {})).status).toBe(403);
    expect((await send(one.url, ada, '/api/workspaces/w_nope/rubrics', 'GET')).status).toBe(404);

    // Bad bodies: stable codes, and nothing is written.
    const checkpoint = { title: 'T', description: 'D' };
    for (const [body, code] of [
      [{ name: '', checkpoints: [checkpoint] }, 'invalid'],
      [{ name: 'x'.repeat(81), checkpoints: [checkpoint] }, 'too_long'],
      [{ name: 'No checkpoints', checkpoints: [] }, 'invalid'],
      [{ name: 'Too many', checkpoints: Array.from({ length: 51 }, () => checkpoint) }, 'too_long'],
      [{ name: 'Untitled', checkpoints: [{ title: ' ', description: 'D' }] }, 'invalid'],
      [{ name: 'Long title', checkpoints: [{ title: 'x'.repeat(121), description: 'D' }] }, 'too_long'],
      [{ name: 'Long text', checkpoints: [{ title: 'T', description: 'x'.repeat(1001) }] }, 'too_long'],
      [{ name: 'Bad flag', checkpoints: [{ ...checkpoint, required: 'yes' }] }, 'invalid'],
      [{ checkpoints: [checkpoint] }, 'invalid'],
    ] as const) {
      const bad = await send(one.url, ada, path, 'POST', body);
      expect([bad.status, bad.body.error?.code]).toEqual([400, code]);
    }
    expect((await send(one.url, ada, path, 'GET')).body.rubrics).toHaveLength(2);

    // An edit is the next version, on either server; a second edit the one after.
    const edited = await send(two.url, ada, `${path}/${rubric.id}`, 'PUT', {
      name: 'Incident reports v2',
      checkpoints: [INCIDENT.checkpoints[1], INCIDENT.checkpoints[0]],
    });
    expect(edited.status).toBe(200);
    expect(edited.body.rubric).toMatchObject({
      id: rubric.id,
      name: 'Incident reports v2',
      version: 2,
      checkpoints: [
        { n: 1, title: 'Owner for every action' },
        { n: 2, title: 'Customer impact' },
      ],
    });
    const again = await send(one.url, ada, `${path}/${rubric.id}`, 'PUT', INCIDENT);
    expect(again.body.rubric.version).toBe(3);
    expect((await send(two.url, bob, `${path}/${rubric.id}`, 'GET')).body.rubric.version).toBe(3);
    expect((await send(one.url, ada, `${path}/rb_nope`, 'PUT', INCIDENT)).status).toBe(404);
    const badEdit = await send(one.url, ada, `${path}/${rubric.id}`, 'PUT', { name: 'x', checkpoints: [] });
    expect(badEdit.body.error?.code).toBe('invalid');
    expect((await send(one.url, ada, `${path}/${rubric.id}`, 'GET')).body.rubric.version).toBe(3);

    // The default is read-only; it can be duplicated into an editable copy.
    const readOnly = await send(one.url, ada, `${path}/default`, 'PUT', INCIDENT);
    expect([readOnly.status, readOnly.body.error?.code]).toEqual([409, 'read_only']);
    const copy = await send(one.url, ada, `${path}/default/duplicate`, 'POST', {});
    expect(copy.status).toBe(201);
    expect(copy.body.rubric).toMatchObject({ name: 'Prism default (copy)', version: 1 });
    expect(copy.body.rubric.checkpoints).toEqual(DEFAULT_REVIEW_RUBRIC.checkpoints);
    const named = await send(two.url, ada, `${path}/${rubric.id}/duplicate`, 'POST', { name: 'Audits' });
    expect(named.body.rubric).toMatchObject({
      name: 'Audits',
      version: 1,
      checkpoints: again.body.rubric.checkpoints,
    });
    expect(named.body.rubric.id).not.toBe(rubric.id);
    expect((await send(one.url, bob, path, 'GET')).body.rubrics.map((r: Rubric) => r.name)).toEqual([
      'Prism default',
      'Incident reports',
      'Prism default (copy)',
      'Audits',
    ]);
  });

  it('imports checkpoints from a guidelines .docx, proposed and not saved; bad files get the upload codes', async () => {
    const { one, ada, bob, eve, ws } = await team('rubrics-import');
    const file = corpus('openxmlsdk-regents-rules-numbered.docx');
    const proposed = await importDocx(one.url, ada, ws, file, 'rules.docx');
    expect(proposed.status).toBe(200);
    expect(proposed.body.checkpoints.map((c: { title: string }) => c.title)).toEqual([
      'Title',
      'Rule and Regulation',
      'Definitions',
      'Relevant Federal and State Statutes',
      'Relevant System Policies, Procedures, and Forms',
      'Who Should Know',
      'System Administration Office(s) Responsible for Rule',
      'Dates Approved or Amended',
      'Contact Information',
    ]);
    // Its first heading is a checkpoint, so the file names the rubric.
    expect(proposed.body.name).toBe('rules');
    expect(proposed.body.checkpoints[1]).toMatchObject({
      description: 'Sec. 1 Board Commitment.',
      required: true,
    });
    // Nothing is saved until a person confirms the checkpoints and POSTs them.
    expect((await send(one.url, ada, `/api/workspaces/${ws}/rubrics`, 'GET')).body.rubrics).toHaveLength(1);
    const confirmed = await send(one.url, ada, `/api/workspaces/${ws}/rubrics`, 'POST', {
      name: proposed.body.name,
      checkpoints: proposed.body.checkpoints,
    });
    expect(confirmed.status).toBe(201);
    expect(confirmed.body.rubric.checkpoints).toHaveLength(9);

    // Headings of a document become checkpoints too.
    const headed = await importDocx(
      one.url,
      ada,
      ws,
      await makeDocx([
        { title: 'Evidence', paragraphs: ['Every claim cites a source. Logs are attached.'] },
        { title: 'Owners', paragraphs: ['Each action has an owner.'] },
      ]),
      'guide.docx',
    );
    expect(headed.body.checkpoints).toEqual([
      { title: 'Evidence', description: 'Every claim cites a source. Logs are attached.', required: true },
      { title: 'Owners', description: 'Each action has an owner.', required: true },
    ]);

    // Bad files get the upload's codes; only admins import.
    const truncated = await importDocx(one.url, ada, ws, corpus('poi-truncated-zip.docx'), 'broken.docx');
    expect([truncated.status, truncated.body.error?.code]).toEqual([400, 'corrupt_document']);
    const encrypted = await importDocx(
      one.url,
      ada,
      ws,
      corpus('poi-encrypted-password-pass.docx'),
      'x.docx',
    );
    expect(encrypted.body.error?.code).toBe('encrypted_document');
    expect((await importDocx(one.url, bob, ws, file, 'rules.docx')).status).toBe(403);
    expect((await importDocx(one.url, eve, ws, file, 'rules.docx')).status).toBe(403);
  });

  it("spends one of the admin's uploads on each import: past the minute's allowance, 429 with Retry-After", async () => {
    const { prefix, one, two, ada, ws } = await team('rubrics-import-limit');
    const file = corpus('openxmlsdk-regents-rules-numbered.docx');
    // The allowance the servers share in Redis, spent to the last one; this import spends that.
    const limits = createRateLimits(redis, prefix);
    for (let spent = 1; spent < UPLOADS_PER_PERSON; spent += 1) await limits.upload(ada.user.id);
    expect((await importDocx(one.url, ada, ws, file, 'rules.docx')).status).toBe(200);
    // The next one, on either server, is refused before the file is read.
    const refused = await fetch(`${two.url}/api/workspaces/${ws}/rubrics/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ada.token}` },
      body: (() => {
        const form = new FormData();
        form.set('file', new Blob([file]), 'rules.docx');
        return form;
      })(),
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as Body).error.code).toBe('rate_limited');
  });

  it('an upload keeps its rubric at its version: the snapshot, a later edit, the rules checklist', async () => {
    const { prefix, one, two, ada, bob, eve, ws } = await team('rubrics-upload');
    const created = (await send(one.url, ada, `/api/workspaces/${ws}/rubrics`, 'POST', INCIDENT)).body
      .rubric as Rubric;
    const file = await makeDocx([
      { title: 'Summary', paragraphs: ['The payment service was unavailable for four hours on 3 March.'] },
      { title: 'Actions', paragraphs: ['We will improve monitoring soon.'] },
    ]);

    // A rubric of another workspace, an unknown one, or a custom one without a workspace: 400 naming the field.
    const otherWs = (await send(one.url, eve, '/api/workspaces', 'POST', { name: 'Other' })).body.workspace
      .id;
    const refused: Record<string, string>[] = [
      { workspaceId: otherWs, rubricId: created.id },
      { workspaceId: ws, rubricId: 'rb_nope' },
      { rubricId: created.id },
    ];
    for (const fields of refused) {
      const who = fields.workspaceId === otherWs ? eve : ada;
      const res = await upload(one.url, who.token, file, fields);
      const body = (await res.json()) as Body;
      expect([res.status, body.error?.code]).toEqual([400, 'invalid']);
      expect(body.error.message).toMatch(/^rubricId/);
    }
    // The default can still be named.
    expect((await upload(one.url, bob.token, file, { workspaceId: ws, rubricId: 'default' })).status).toBe(
      201,
    );

    const res = await upload(two.url, bob.token, file, { workspaceId: ws, rubricId: created.id });
    expect(res.status).toBe(201);
    const review = ((await res.json()) as Body).review as { id: string };
    const rubricOf = async () => (await send(one.url, ada, `/api/reviews/${review.id}`, 'GET')).body.rubric;
    expect(await rubricOf()).toEqual({
      id: created.id,
      name: created.name,
      version: 1,
      checkpoints: created.checkpoints,
    });

    // Editing the rubric later does not change the review's.
    const edited = await send(one.url, ada, `/api/workspaces/${ws}/rubrics/${created.id}`, 'PUT', {
      name: 'Incident reports v2',
      checkpoints: [{ title: 'Only one', description: 'Replaces the others.' }],
    });
    expect(edited.body.rubric.version).toBe(2);
    expect((await rubricOf()).version).toBe(1);
    expect((await rubricOf()).checkpoints).toHaveLength(3);

    // The rules provider's checklist gives each of the review's checkpoints (v1) a verdict.
    await startWorker(prefix, new RulesProvider());
    const socket = await connect(one.url, bob.token);
    const feed = new ReviewFeed(socket, review.id);
    await feed.join();
    const verdicts = () =>
      feed.events.filter(
        (e): e is Extract<ReviewEvent, { type: 'checklist.updated' }> => e.type === 'checklist.updated',
      );
    expect((await call(socket, 'analysis:start', { reviewId: review.id })).ok).toBe(true);
    await waitFor(() => verdicts().length === 3, 30_000, 'three verdicts');
    const snapshot = (await call(socket, 'review:join', { reviewId: review.id })).snapshot;
    expect((snapshot.checklist as ChecklistEntry[]).map((e) => e.n)).toEqual([1, 2, 3]);
    expect(snapshot.checklist.every((e: ChecklistEntry) => e.source === 'rules')).toBe(true);
    expect(snapshot.checklist[0].explanation).toContain('"Customer impact"');
    expect(snapshot.rubric.version).toBe(1);
    // The rules provider cites the default rubric's numbers: under a workspace rubric, none.
    expect(snapshot.feedback.length).toBeGreaterThan(0);
    expect(snapshot.feedback.every((item: { refs: number[] }) => item.refs.length === 0)).toBe(true);

    // The checklist's JSON export names the review's rubric too.
    const exported = await send(one.url, ada, `/api/reviews/${review.id}/export?format=json`, 'GET');
    expect(exported.status).toBe(200);
    expect(JSON.stringify(exported.body)).toContain('Customer impact');
  });

  it("on Bedrock, every call's cached prefix lists the review's checkpoints, and the checklist judges each of them", async () => {
    const { prefix, one, ada, bob, ws } = await team('rubrics-bedrock');
    const created = (await send(one.url, ada, `/api/workspaces/${ws}/rubrics`, 'POST', INCIDENT)).body
      .rubric as Rubric;
    const file = await makeDocx([
      { title: 'Summary', paragraphs: ['The payment service was unavailable for four hours on 3 March.'] },
      { title: 'Actions', paragraphs: ['We will improve monitoring soon.'] },
    ]);
    const res = await upload(one.url, bob.token, file, { workspaceId: ws, rubricId: created.id });
    const review = ((await res.json()) as Body).review as { id: string };
    standIn.reset();
    await startWorker(prefix, standInProvider(standIn, { models: [MODEL] }));
    const socket = await connect(one.url, bob.token);
    const feed = new ReviewFeed(socket, review.id);
    await feed.join();
    const verdicts = () =>
      feed.events.filter(
        (e): e is Extract<ReviewEvent, { type: 'checklist.updated' }> => e.type === 'checklist.updated',
      );
    expect((await call(socket, 'analysis:start', { reviewId: review.id })).ok).toBe(true);
    await waitFor(() => verdicts().length === 3, 30_000, 'three verdicts');

    const rubricBlock =
      'Rubric (cite checkpoints by number):\n1. Customer impact: Says how many customers were affected and for how long.\n2. Owner for every action: Each action names one owner.\n3. Glossary: Terms are defined. (optional)';
    const systems = standIn.requests.map((request) => JSON.stringify(request.body.system));
    expect(standIn.requestsOf('analysis').length).toBeGreaterThan(0);
    expect(standIn.requestsOf('checklist')).toHaveLength(1);
    for (const system of systems) {
      expect(system).toContain(JSON.stringify(rubricBlock).slice(1, -1));
      expect(system).not.toContain('Executive summary: states the problem');
    }
    // One prefix for every call of the review: it stays cached.
    expect(new Set(systems).size).toBe(1);
    expect(verdicts().map((e) => [e.data.n, e.data.source])).toEqual([
      [1, 'ai'],
      [2, 'ai'],
      [3, 'ai'],
    ]);
    // Findings cite only checkpoints of the review's rubric.
    const snapshot = (await call(socket, 'review:join', { reviewId: review.id })).snapshot;
    const refs = (snapshot.feedback as { refs: number[] }[]).flatMap((item) => item.refs);
    expect(snapshot.feedback.length).toBeGreaterThan(0);
    expect(refs.every((n) => [1, 2, 3].includes(n))).toBe(true);
  });
});
