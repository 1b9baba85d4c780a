/**
 * What a review hands on, through the real server, worker and an S3-compatible server: the
 * original document with each accepted item as a Word comment around its quote (in a paragraph,
 * a table cell, a heading), JSON and CSV, and the archived package in the object store.
 */
import { S3ObjectStore } from '@prism/store';
import { strFromU8, unzipSync } from 'fflate';
import mammoth from 'mammoth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  call,
  cleanupKeys,
  connect,
  createReview,
  makeDocx,
  ReviewFeed,
  session,
  startServer,
  startWorker,
  type TestServer,
  uniquePrefix,
  waitFor,
} from '../../test/helpers.ts';
import { type S3TestServer, startS3Server } from '../../test/s3-server.ts';
import { RulesProvider } from '../../worker/src/ai/rules.ts';

let s3: S3TestServer;
beforeAll(async () => {
  s3 = await startS3Server({ bucket: 'prism-export-test' });
});
afterAll(async () => {
  await s3.stop();
});

/** The text a comment covers: everything between its range start and end, tags stripped. */
function covered(xml: string, id: string): { text: string; inCell: boolean } {
  const start = xml.indexOf(`<w:commentRangeStart w:id="${id}"/>`);
  const end = xml.indexOf(`<w:commentRangeEnd w:id="${id}"/>`);
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  const between = xml.slice(start, end);
  const text = [...between.matchAll(/<w:t(?:\s[^>]*)?>([^<]*)<\/w:t>/g)].map((m) => m[1]).join('');
  const cellOpen = xml.lastIndexOf('<w:tc>', start);
  const cellClose = xml.indexOf('</w:tc>', cellOpen);
  return { text, inCell: cellOpen > -1 && cellClose > end && xml.lastIndexOf('</w:tc>', start) < cellOpen };
}

/**
 * Olga's review of one "Incident summary" section (`paragraph`, then an owner / action table) on
 * `server`, with her socket joined to it.
 */
async function incidentRoom(server: TestServer, paragraph: string) {
  const owner = await session(server.url, 'Olga Ström');
  const doc = await makeDocx([
    {
      title: 'Incident summary',
      paragraphs: [paragraph],
      table: [
        ['Owner', 'Action'],
        ['Platform team', 'Add alerting on queue depth'],
      ],
    },
  ]);
  const review = await createReview(server.url, owner.token, doc);
  const socket = await connect(server.url, owner.token);
  const feed = new ReviewFeed(socket, review.id);
  await feed.join();
  return { owner, doc, review, sectionId: review.sections[0]!.id, socket, feed };
}

describe('exports', () => {
  it('puts each accepted item around its quote as a Word comment, and archives the package to S3', async () => {
    const prefix = uniquePrefix('export');
    cleanupKeys(prefix);
    const objects = new S3ObjectStore({
      bucket: s3.bucket,
      prefix: `prism/${prefix.replaceAll(':', '_')}`,
      region: s3.region,
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const server = await startServer(prefix, { objects });
    await startWorker(prefix, new RulesProvider(), {}, objects);
    const { owner, doc, review, sectionId, socket, feed } = await incidentRoom(
      server,
      'The outage lasted four hours & affected <all> EU customers.',
    );

    const add = async (quote: string, description: string) => {
      const ack = await call(socket, 'feedback:add', {
        reviewId: review.id,
        sectionId,
        type: 'important',
        category: 'Evidence',
        description,
        suggestion: 'Line one\nLine two',
        quote,
      });
      expect(ack.ok).toBe(true);
      return ack.item;
    };
    await add('lasted four hours & affected <all> EU', 'Say how the four hours were measured.');
    await add('Add alerting on queue depth', 'Name a date for the alerting.');
    await add('Incident summary', 'The title should name the service.');
    const dropped = await add('The outage lasted four hours', 'A rejected remark that must not be exported.');
    const rejected = await call(socket, 'feedback:decide', {
      reviewId: review.id,
      feedbackId: dropped.id,
      status: 'rejected',
      version: dropped.version,
    });
    expect(rejected.ok).toBe(true);

    const res = await api(server.url, owner.token, `/api/reviews/${review.id}/export?format=docx`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('_reviewed.docx');
    const docx = new Uint8Array(await res.arrayBuffer());
    const files = unzipSync(docx);
    const xml = strFromU8(files['word/document.xml']!);
    const comments = strFromU8(files['word/comments.xml']!);
    expect(strFromU8(files['[Content_Types].xml']!)).toContain('comments+xml');
    expect(strFromU8(files['word/_rels/document.xml.rels']!)).toContain('comments.xml');

    const ids = [...comments.matchAll(/<w:comment [^>]*w:id="(\d+)"/g)].map((m) => m[1]!);
    expect(ids).toHaveLength(3);
    const ranges = ids.map((id) => covered(xml, id));
    expect(ranges.map((r) => r.text).sort()).toEqual(
      [
        'Add alerting on queue depth',
        'Incident summary',
        'lasted four hours &amp; affected &lt;all&gt; EU',
      ].sort(),
    );
    expect(ranges.find((r) => r.text === 'Add alerting on queue depth')!.inCell).toBe(true);
    expect(comments).toContain('w:author="Olga Ström"');
    expect(comments).toContain('Name a date for the alerting.');
    expect(comments).not.toContain('must not be exported');
    // Line breaks in an item are real paragraphs, not literal newlines.
    expect(comments).toMatch(/Line one<\/w:t><\/w:r><\/w:p><w:p/);
    // Word readers still read the document as it was.
    const text = (await mammoth.extractRawText({ buffer: Buffer.from(docx) })).value;
    expect(text).toContain('The outage lasted four hours & affected <all> EU customers.');

    const json = (await (
      await api(server.url, owner.token, `/api/reviews/${review.id}/export?format=json`)
    ).json()) as {
      feedback: { accepted: unknown[]; rejected: unknown[]; custom: unknown[] };
      activity: { seq: number }[];
    };
    expect(json.feedback.accepted).toHaveLength(3);
    expect(json.feedback.rejected).toHaveLength(1);
    expect(json.feedback.custom).toHaveLength(4);
    expect(json.activity.map((e) => e.seq)).toEqual(json.activity.map((_, i) => i + 1));
    const csv = await (
      await api(server.url, owner.token, `/api/reviews/${review.id}/export?format=csv`)
    ).text();
    const lines = csv
      .replace(/^\ufeff/, '')
      .trim()
      .split('\r\n');
    expect(lines[0]).toMatch(/^id,section,type,risk,category,description/);
    expect(lines).toHaveLength(5);

    const posted = await api(server.url, owner.token, `/api/reviews/${review.id}/export`, {
      method: 'POST',
      body: '{}',
    });
    expect(posted.status).toBe(202);
    const { jobId } = (await posted.json()) as { jobId: string };
    await waitFor(() => feed.events.some((e) => e.type === 'export.ready'), 20_000, 'export.ready');
    const ready = feed.events.find((e) => e.type === 'export.ready')!.data as {
      jobId: string;
      location: string;
      files: string[];
    };
    expect(ready.jobId).toBe(jobId);
    // The folder's key in the store: no bucket, prefix or server path.
    expect(ready.location).toMatch(/^Logs and data\/\d{8}_\d{6}_Incident summary\/$/);
    expect(ready.files).toEqual(
      expect.arrayContaining([
        'documents/report.docx',
        'documents/report_reviewed.docx',
        'feedback/accepted.json',
        'feedback/rejected.json',
        'feedback/custom.json',
        'feedback/ai_suggestions.json',
        'logs/activity.jsonl',
        'logs/chat.json',
        'report.json',
      ]),
    );
    const folder = ready.location;
    const report = JSON.parse((await objects.get(`${folder}report.json`)).toString('utf8'));
    expect(report.summary).toMatchObject({
      findings: 4,
      accepted: 3,
      rejected: 1,
      custom: 4,
      unplacedChanges: 0,
    });
    expect((await objects.get(`${folder}documents/report.docx`)).equals(Buffer.from(doc))).toBe(true);
  });

  it('writes suggested rewrites as tracked changes by default, and as comments only with changes=comments', async () => {
    const prefix = uniquePrefix('exportchanges');
    cleanupKeys(prefix);
    const server = await startServer(prefix);
    const { owner, review, sectionId, socket } = await incidentRoom(
      server,
      'The outage lasted four hours and affected EU customers.',
    );
    const add = async (quote: string, replacement: string) => {
      const ack = await call(socket, 'feedback:add', {
        reviewId: review.id,
        sectionId,
        type: 'suggestion',
        category: 'Wording',
        description: `Say "${replacement}".`,
        quote,
        replacement,
      });
      expect(ack.ok).toBe(true);
    };
    await add('lasted four hours', 'lasted 4 hours');
    await add('Add alerting on queue depth', 'Alert on queue depth by May');
    await add('Incident summary', 'Queue outage, 3 March');
    // Over words another change already rewrites: a comment with the suggestion instead.
    await add('four hours and affected', 'hit');

    const res = await api(server.url, owner.token, `/api/reviews/${review.id}/export?format=docx`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-prism-unplaced-changes')).toBe('1');
    const docx = new Uint8Array(await res.arrayBuffer());
    const xml = strFromU8(unzipSync(docx)['word/document.xml']!);
    const revisions = [
      ...xml.matchAll(/<w:(ins|del) w:id="\d+" w:author="([^"]*)"[^>]*>([\s\S]*?)<\/w:\1>/g),
    ].map((m) => [m[1], m[2], [...m[3]!.matchAll(/>([^<]+)<\/w:(?:t|delText)>/g)].map((t) => t[1]).join('')]);
    expect(revisions).toEqual([
      ['del', 'Olga Ström', 'Incident summary'],
      ['ins', 'Olga Ström', 'Queue outage, 3 March'],
      ['del', 'Olga Ström', 'lasted four hours'],
      ['ins', 'Olga Ström', 'lasted 4 hours'],
      ['del', 'Olga Ström', 'Add alerting on queue depth'],
      ['ins', 'Olga Ström', 'Alert on queue depth by May'],
    ]);
    expect(strFromU8(unzipSync(docx)['word/comments.xml']!)).toContain('Replace with: hit');
    // With the changes accepted (what Word readers show), the document reads as rewritten.
    const text = (await mammoth.extractRawText({ buffer: Buffer.from(docx) })).value;
    expect(text).toContain('The outage lasted 4 hours and affected EU customers.');
    expect(text).toContain('Queue outage, 3 March');

    const plain = await api(
      server.url,
      owner.token,
      `/api/reviews/${review.id}/export?format=docx&changes=comments`,
    );
    expect(plain.status).toBe(200);
    expect(plain.headers.get('x-prism-unplaced-changes')).toBe('0');
    const plainDocx = new Uint8Array(await plain.arrayBuffer());
    expect(strFromU8(unzipSync(plainDocx)['word/document.xml']!)).not.toMatch(/<w:(ins|del) /);
    expect(strFromU8(unzipSync(plainDocx)['word/comments.xml']!).match(/<w:comment /g)).toHaveLength(4);
    const plainText = (await mammoth.extractRawText({ buffer: Buffer.from(plainDocx) })).value;
    expect(plainText).toContain('The outage lasted four hours and affected EU customers.');

    const bad = await api(
      server.url,
      owner.token,
      `/api/reviews/${review.id}/export?format=docx&changes=all`,
    );
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid');
  });

  it('lets any member download, but only owners and reviewers write the package', async () => {
    const prefix = uniquePrefix('exportaccess');
    cleanupKeys(prefix);
    const server = await startServer(prefix);
    const owner = await session(server.url, 'Owner');
    const review = await createReview(server.url, owner.token);
    const invite = (await (
      await api(server.url, owner.token, `/api/reviews/${review.id}/invites`, {
        method: 'POST',
        body: JSON.stringify({ role: 'viewer' }),
      })
    ).json()) as { token: string };
    const viewer = await session(server.url, 'Viewer');
    await api(server.url, viewer.token, '/api/invites/accept', {
      method: 'POST',
      body: JSON.stringify({ token: invite.token }),
    });
    expect((await api(server.url, viewer.token, `/api/reviews/${review.id}/export?format=csv`)).status).toBe(
      200,
    );
    const post = await api(server.url, viewer.token, `/api/reviews/${review.id}/export`, {
      method: 'POST',
      body: '{}',
    });
    expect(post.status).toBe(403);
    const bad = await api(server.url, owner.token, `/api/reviews/${review.id}/export?format=pdf`);
    expect(bad.status).toBe(400);
  });
});
