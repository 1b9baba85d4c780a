/**
 * Writes the review package to the object store under `Logs and data/<YYYYMMDD_HHMMSS>_<name>/`
 * (documents, feedback, logs, report.json) and tells the room with `export.ready`.
 */
import { PRISM_ACTOR, PrismError, packageFiles, packageFolder, reviewedDocx } from '@prism/core';
import { UnrecoverableError } from 'bullmq';
import type { Handler } from './types.ts';

export const writePackage: Handler<'export.package'> = async (job, { store, objects, log }) => {
  const { reviewId } = job.data;
  const meta = await store.meta(reviewId);
  if (!meta) throw new UnrecoverableError('The review no longer exists.');
  const snapshot = await store.snapshot(reviewId, 'owner');
  const events = await log.all(reviewId);
  const original = await objects.get(meta.original.key).catch(() => {
    throw new PrismError('not_found', 'The original document is missing from the object store.');
  });
  const reviewed = reviewedDocx(original, snapshot, meta.anchors);
  const folder = packageFolder(meta.title, new Date());
  const files = packageFiles(snapshot, events, original, reviewed, meta.original.name);
  // Every file first, the event last: whoever follows `location` finds the package complete.
  for (const [path, body] of Object.entries(files)) await objects.put(`${folder}${path}`, body);
  const jobId = job.id ?? 'export';
  // A folder is not an object: locate its name, then mark it as a folder.
  const location = `${objects.locate(folder.replace(/\/$/, ''))}/`;
  await log.append({
    reviewId,
    type: 'export.ready',
    at: new Date().toISOString(),
    actor: job.data.requestedBy ?? PRISM_ACTOR,
    data: { jobId, location, files: Object.keys(files) },
  });
  return { location };
};
