/**
 * Idle archiving and retention through the worker's own pass (jobs/retention.ts) on real Redis and
 * a real S3-API server, with a clock the test sets: nothing happens before REVIEW_ARCHIVE_AFTER_DAYS,
 * then each idle review is archived exactly once though two workers run the pass at once (and a
 * read restores it as it was); past REVIEW_RETENTION_DAYS it is deleted, archive and all, with an
 * audit line; a review with recent activity is left alone.
 */
import { AuditLog, EventLog, LibraryStore, S3ObjectStore } from '@prism/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  cleanupKeys,
  createReview,
  makeDocx,
  type Person,
  session,
  startServer,
  type TestServer,
  testRedis,
  uniquePrefix,
} from '../../test/helpers.ts';
import { type S3TestServer, startS3Server } from '../../test/s3-server.ts';
import { type RetentionDeps, retentionSettings, runRetention } from '../src/jobs/retention.ts';

const DAY = 24 * 60 * 60 * 1000;
const prefix = uniquePrefix('retention');
const redis = testRedis();
let s3: S3TestServer;
let objects: S3ObjectStore;
let server: TestServer;
let owner: Person;

const keysOf = async (reviewId: string): Promise<string[]> => {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}review:{${reviewId}}*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
};

/** The worker's pass as a worker builds it, with the days from the environment it reads. */
function worker(env: Record<string, string>): RetentionDeps {
  return {
    redis,
    log: new EventLog(redis, { prefix }),
    objects,
    library: new LibraryStore(redis, prefix),
    settings: retentionSettings(env),
  };
}

beforeAll(async () => {
  cleanupKeys(prefix);
  s3 = await startS3Server({ bucket: 'prism-retention-test' });
  objects = new S3ObjectStore({
    bucket: s3.bucket,
    prefix: `prism/${prefix.replaceAll(':', '_')}`,
    region: s3.region,
    endpoint: s3.endpoint,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  server = await startServer(prefix, { objects });
  owner = await session(server.url, 'Olga');
}, 120_000);

afterAll(async () => {
  objects?.destroy();
  await s3?.stop();
});

describe('retention', () => {
  it('archives idle reviews once with two workers at once, restores on read, and deletes them past retention', async () => {
    const review = await createReview(
      server.url,
      owner.token,
      await makeDocx([{ title: 'Quarterly plan', paragraphs: ['We hire two engineers in March.'] }]),
    );
    const before = await (await api(server.url, owner.token, `/api/reviews/${review.id}`)).text();
    const start = Date.now();
    const env = { REVIEW_ARCHIVE_AFTER_DAYS: '30', REVIEW_RETENTION_DAYS: '90' };

    // Twenty-nine days on: nothing to do.
    expect(await runRetention(worker(env), new Date(start + 29 * DAY))).toEqual({
      archived: [],
      deleted: [],
    });
    expect((await keysOf(review.id)).length).toBeGreaterThan(0);

    // Thirty-one days on, two workers run the pass at the same moment: archived once.
    const at = new Date(start + 31 * DAY);
    const passes = await Promise.all([runRetention(worker(env), at), runRetention(worker(env), at)]);
    expect(passes.flatMap((pass) => pass.archived).filter((id) => id === review.id)).toEqual([review.id]);
    expect(await keysOf(review.id)).toEqual([]);
    const listed = await api(server.url, owner.token, '/api/reviews?status=archived');
    expect(((await listed.json()) as { reviews: { id: string }[] }).reviews.map((r) => r.id)).toContain(
      review.id,
    );

    // Read again: restored as it was, and archived again by the next pass.
    expect(await (await api(server.url, owner.token, `/api/reviews/${review.id}`)).text()).toBe(before);
    expect((await runRetention(worker(env), new Date(start + 32 * DAY))).archived).toContain(review.id);

    // Without REVIEW_RETENTION_DAYS nothing is ever deleted.
    expect((await runRetention(worker({}), new Date(start + 400 * DAY))).deleted).toEqual([]);
    expect(await objects.list(`reviews/${review.id}/`)).toContain(`reviews/${review.id}/archive.json.gz`);

    // Ninety-one days on: deleted, archive and original included, with an audit line.
    expect((await runRetention(worker(env), new Date(start + 91 * DAY))).deleted).toContain(review.id);
    expect(await keysOf(review.id)).toEqual([]);
    expect(await objects.list(`reviews/${review.id}/`)).toEqual([]);
    expect((await api(server.url, owner.token, `/api/reviews/${review.id}`)).status).toBe(404);
    const audit = await new AuditLog(redis, prefix).read({ userId: owner.user.id });
    expect(audit[0]).toMatchObject({
      action: 'review.deleted',
      reviewId: review.id,
      title: 'Quarterly plan',
    });
  }, 60_000);

  it('leaves a review with recent activity alone', async () => {
    const review = await createReview(
      server.url,
      owner.token,
      await makeDocx([{ title: 'Busy plan', paragraphs: ['Work goes on here.'] }]),
    );
    const env = { REVIEW_ARCHIVE_AFTER_DAYS: '30' };
    const pass = await runRetention(worker(env), new Date(Date.now() + 5 * DAY));
    expect(pass.archived).not.toContain(review.id);
    expect((await keysOf(review.id)).length).toBeGreaterThan(0);
  });

  it('refuses a retention setting that is not a positive number of days', () => {
    expect(() => retentionSettings({ REVIEW_ARCHIVE_AFTER_DAYS: '0' })).toThrow(/REVIEW_ARCHIVE_AFTER_DAYS/);
    expect(() => retentionSettings({ REVIEW_RETENTION_DAYS: 'soon' })).toThrow(/REVIEW_RETENTION_DAYS/);
    expect(retentionSettings({})).toMatchObject({ archiveAfterDays: 30, retentionDays: undefined });
  });
});
