/**
 * Writes the review package to the object store under `Logs and data/<YYYYMMDD_HHMMSS>_<name>/`
 * (documents, feedback, logs, report.json) and tells the room with `export.ready`.
 */
import { PRISM_ACTOR } from '@prism/core';
import { buildPackage } from '@prism/store';
import { UnrecoverableError } from 'bullmq';
import type { Handler } from './types.ts';

export const writePackage: Handler<'export.package'> = async (job, { store, objects, log }) => {
  const { reviewId } = job.data;
  if (!(await store.meta(reviewId))) throw new UnrecoverableError('The review no longer exists.');
  // The same package GET /api/reviews/:id/package zips (store/src/package.ts).
  const { folder, files } = await buildPackage(store, objects, reviewId);
  // Every file first, the event last: whoever follows `location` finds the package complete.
  for (const [path, body] of Object.entries(files)) await objects.put(`${folder}${path}`, body);
  const jobId = job.id ?? 'export';
  // The folder's key relative to the store (`Logs and data/<stamp>_<name>/`), never where the store
  // keeps it (a server path for file:, the bucket for s3:): members see it, operators know the rest.
  const location = folder;
  await log.append({
    reviewId,
    type: 'export.ready',
    at: new Date().toISOString(),
    actor: job.data.requestedBy ?? PRISM_ACTOR,
    data: { jobId, location, files: Object.keys(files) },
  });
  return { location };
};
