/**
 * Queueing and cancelling section analyses in bulk. A review may have hundreds of sections, so
 * every step here is one Redis round trip for all of them: one read of their statuses and job
 * ids, one batch of run numbers, one `appendMany` of their `section.status` events. The job id a
 * section's analysis runs under is kept in the `jobs` hash as `job:analysis:<sectionId>`, and each
 * status change is guarded on it, so two starts (or a start and a cancel) racing on one section
 * cannot both win.
 */
import type { SectionState, User } from '@prism/core';
import type { Redis } from 'ioredis';
import type { EventLog, PendingAppend } from './event-log.ts';
import type { SectionStatusRecord } from './reviews.ts';

/** A section and the id of the analysis job that runs (or ran) it. */
export interface SectionJob {
  sectionId: string;
  jobId: string;
}

/** What `queueSections` did for one section: queued a new run, or found one already under way. */
export interface QueuedSection extends SectionJob {
  /** True when this call queued the section (its job still has to be enqueued). */
  queued: boolean;
}

const BUSY: ReadonlySet<SectionState['status']> = new Set(['queued', 'analyzing']);

/** The `jobs` field holding the id of a section's current analysis job. */
export const analysisJobField = (sectionId: string): string => `job:analysis:${sectionId}`;

/** A section queued or analyzing, as `busySections` read it. */
export interface BusySection extends SectionJob {
  /** The stored status, exactly: a cancel applies only if it has not changed since. */
  raw: string;
}

interface SectionRecord {
  sectionId: string;
  status: SectionState['status'];
  raw: string;
  jobId: string | undefined;
}

/** Every section's status and current job id, in one MULTI (two HMGETs). */
async function readSections(
  redis: Redis,
  log: EventLog,
  reviewId: string,
  sectionIds: string[],
): Promise<SectionRecord[]> {
  if (sectionIds.length === 0) return [];
  const keys = log.keys(reviewId);
  const [[statusError, statuses], [jobsError, jobIds]] = (await redis
    .multi()
    .hmget(keys.status, ...sectionIds)
    .hmget(keys.jobs, ...sectionIds.map(analysisJobField))
    .exec()) as [[Error | null, (string | null)[]], [Error | null, (string | null)[]]];
  if (statusError) throw statusError;
  if (jobsError) throw jobsError;
  return sectionIds.map((sectionId, i) => ({
    sectionId,
    status: statuses[i] ? (JSON.parse(statuses[i]) as SectionStatusRecord).status : 'idle',
    raw: statuses[i] ?? '',
    jobId: jobIds[i] ?? undefined,
  }));
}

const statusEvent = (
  reviewId: string,
  actor: User,
  sectionId: string,
  status: 'queued' | 'cancelled',
): PendingAppend['event'] => ({
  reviewId,
  type: 'section.status',
  at: new Date().toISOString(),
  actor,
  data: { sectionId, status },
});

/**
 * Marks sections `queued` under a new job id each (`jobId(sectionId, run)`, run numbers never
 * repeat), in the order given; a section already queued or analyzing keeps its job. Returns one
 * entry per distinct section. The caller enqueues the jobs of the entries with `queued: true`
 * after this resolves, so no worker can report on a section before its `queued` event.
 */
export async function queueSections(
  redis: Redis,
  log: EventLog,
  reviewId: string,
  sectionIds: readonly string[],
  actor: User,
  jobId: (sectionId: string, run: number) => string,
): Promise<QueuedSection[]> {
  const records = await readSections(redis, log, reviewId, [...new Set(sectionIds)]);
  const busy = (r: SectionRecord): r is SectionRecord & { jobId: string } => BUSY.has(r.status) && !!r.jobId;
  const fresh = records.filter((r) => !busy(r));
  const jobsKey = log.keys(reviewId).jobs;
  const runs = new Map<string, string>();
  if (fresh.length > 0) {
    const pipeline = redis.pipeline();
    for (const { sectionId } of fresh) pipeline.hincrby(jobsKey, `runs:${sectionId}`, 1);
    const replies = (await pipeline.exec()) ?? [];
    fresh.forEach(({ sectionId }, i) => {
      const [error, run] = replies[i] ?? [new Error('no reply')];
      if (error) throw error;
      runs.set(sectionId, jobId(sectionId, Number(run)));
    });
  }
  const results = await log.appendMany(
    fresh.map(({ sectionId, jobId: previous }) => ({
      event: statusEvent(reviewId, actor, sectionId, 'queued'),
      options: {
        // Another start that queued this section since the read wins; its job is reported below.
        guards: [{ kind: 'hget', key: 'jobs', field: analysisJobField(sectionId), expected: previous ?? '' }],
        writes: [
          {
            op: 'hset',
            key: 'status',
            field: sectionId,
            value: JSON.stringify({ status: 'queued' } satisfies SectionStatusRecord),
          },
          { op: 'hset', key: 'jobs', field: analysisJobField(sectionId), value: runs.get(sectionId)! },
        ],
      },
    })),
  );
  const lost = new Map<string, string>();
  fresh.forEach(({ sectionId }, i) => {
    const result = results[i]!;
    if (!result.ok) lost.set(sectionId, result.current);
  });
  return records.map((record) => {
    if (busy(record)) return { sectionId: record.sectionId, jobId: record.jobId, queued: false };
    const winner = lost.get(record.sectionId);
    if (winner !== undefined) return { sectionId: record.sectionId, jobId: winner, queued: false };
    return { sectionId: record.sectionId, jobId: runs.get(record.sectionId)!, queued: true };
  });
}

/** The sections among `sectionIds` that are queued or analyzing, with their job ids (one round trip). */
export async function busySections(
  redis: Redis,
  log: EventLog,
  reviewId: string,
  sectionIds: readonly string[],
): Promise<BusySection[]> {
  const records = await readSections(redis, log, reviewId, [...new Set(sectionIds)]);
  return records.flatMap(({ sectionId, status, raw, jobId }) =>
    BUSY.has(status) && jobId ? [{ sectionId, jobId, raw }] : [],
  );
}

/**
 * Marks sections `cancelled` whose jobs were removed before any worker took them, in one
 * `appendMany`. A section whose status or job changed since `busySections` read it (it finished
 * meanwhile, or was queued again under another job) is left alone. Returns the sections it
 * cancelled.
 */
export async function cancelSections(
  log: EventLog,
  reviewId: string,
  sections: readonly BusySection[],
  actor: User,
): Promise<SectionJob[]> {
  const results = await log.appendMany(
    sections.map(({ sectionId, jobId, raw }) => ({
      event: statusEvent(reviewId, actor, sectionId, 'cancelled'),
      options: {
        guards: [
          { kind: 'hget', key: 'status', field: sectionId, expected: raw },
          { kind: 'hget', key: 'jobs', field: analysisJobField(sectionId), expected: jobId },
        ],
        writes: [
          {
            op: 'hset',
            key: 'status',
            field: sectionId,
            value: JSON.stringify({ status: 'cancelled' } satisfies SectionStatusRecord),
          },
        ],
      },
    })),
  );
  return sections.filter((_, i) => results[i]!.ok).map(({ sectionId, jobId }) => ({ sectionId, jobId }));
}
