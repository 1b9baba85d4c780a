/**
 * The review package (CONTRACT section 3): what the worker archives under `Logs and data/` and
 * what `GET /api/reviews/:id/package` zips on the fly are built here, from one read of the review,
 * so the two never differ. The files themselves are core's `packageFiles` (pure).
 */
import { PrismError, packageFiles, packageFolder, reviewedDocxReport } from '@prism/core';
import type { ObjectStore } from './objects.ts';
import type { ReviewStore } from './reviews.ts';
import { revisionRecords } from './revisions.ts';

export interface ReviewPackage {
  /** `Logs and data/<YYYYMMDD_HHMMSS>_<name>/`, ending with a slash. */
  folder: string;
  /** Path relative to the folder -> content, in the order they are written. */
  files: Record<string, Uint8Array | string>;
}

/** Reads the review (snapshot, whole event log, original document) and builds its package as of `at`. */
export async function buildPackage(
  store: ReviewStore,
  objects: ObjectStore,
  reviewId: string,
  at: Date = new Date(),
): Promise<ReviewPackage> {
  const meta = await store.meta(reviewId);
  if (!meta) throw new PrismError('not_found', 'There is no review with this id.');
  const [snapshot, events, original] = await Promise.all([
    store.snapshot(reviewId, 'owner'),
    store.log.all(reviewId),
    objects.get(meta.original.key).catch(() => {
      throw new PrismError('not_found', 'The original document is missing from the object store.');
    }),
  ]);
  // Every revision's original (CONTRACT 7.5); the latest is also the package's main document.
  const revisions: Record<string, Uint8Array> = {};
  if (meta.revisions) {
    await Promise.all(
      revisionRecords(meta).map(async (record) => {
        const name = record.original.name.replace(/[^\w\- .()]+/g, '_') || 'document.docx';
        revisions[`documents/revisions/${record.number}_${name}`] = await objects.get(record.original.key);
      }),
    );
  }
  // Suggested rewrites are tracked changes; report.json counts those left as comments.
  const reviewed = reviewedDocxReport(original, snapshot, meta.anchors);
  return {
    folder: packageFolder(meta.title, at),
    files: {
      ...packageFiles(
        snapshot,
        events,
        original,
        reviewed.docx,
        meta.original.name,
        reviewed.unplacedChanges,
      ),
      ...revisions,
    },
  };
}
