/**
 * Archive, restore and delete (CONTRACT 7.3), owner only. The store does the moving
 * (store/src/archive.ts, whose deleteAndAudit also writes a deletion's audit line); this service
 * checks who may and keeps the library record's status.
 */
import { PrismError, type ReviewStatus, type User } from '@prism/core';
import {
  type ActivityStore,
  type ArchiveStore,
  type AuditLog,
  deleteAndAudit,
  type LibraryStore,
  type ObjectStore,
} from '@prism/store';
import type { Redis } from 'ioredis';
import type { ReviewService } from './review-service.ts';

export interface ArchiveServiceDeps {
  reviews: ReviewService;
  archives: ArchiveStore;
  redis: Redis;
  objects: ObjectStore;
  audit: AuditLog;
  library?: LibraryStore | undefined;
  /** The review's progress and last activity, for its record before its keys leave Redis. */
  activity?: Pick<ActivityStore, 'read'> | undefined;
  now?: () => string;
}

export class ArchiveService {
  private readonly deps: ArchiveServiceDeps;
  private readonly now: () => string;

  constructor(deps: ArchiveServiceDeps) {
    this.deps = deps;
    this.now = deps.now ?? (() => new Date().toISOString());
  }

  /** Owner: moves the review to the object store; its keys leave Redis. */
  async archive(user: User, reviewId: string): Promise<ReviewStatus> {
    await this.deps.reviews.authorize(reviewId, user, 'review:archive');
    // What the review holds now, before it leaves Redis: its record is all a list has of it then
    // (the debounced record update may not have run yet).
    const activity = await this.deps.activity?.read(reviewId);
    await this.deps.archives.archive(reviewId);
    await this.deps.library?.update(reviewId, {
      status: 'archived',
      ...(activity ? { progress: activity.progress } : {}),
      ...(activity?.updatedAt ? { updatedAt: activity.updatedAt } : {}),
    });
    return 'archived';
  }

  /** Restores an archived review (any read or join of it); true when it is in Redis afterwards. */
  async restore(reviewId: string): Promise<boolean> {
    const restored = await this.deps.archives.restore(reviewId);
    if (restored && this.deps.library) {
      const { status } = await this.deps.reviews.store.lifecycle(reviewId);
      await this.deps.library.setStatus(reviewId, status);
    }
    return restored;
  }

  /** Owner: deletes the review, archive and objects included, and says so in the audit log. */
  async delete(user: User, reviewId: string): Promise<void> {
    await this.deps.reviews.authorize(reviewId, user, 'review:delete');
    const { reviews, archives, redis, objects, audit, library } = this.deps;
    const deps = { archives, redis, log: reviews.store.log, objects, audit, library };
    const deleted = await deleteAndAudit(deps, reviewId, user, this.now());
    if (!deleted) throw new PrismError('not_found', 'There is no review with this id.');
  }
}
