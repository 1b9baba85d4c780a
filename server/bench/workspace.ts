/**
 * What the workspace benchmarks (insights.ts, learning.ts) share: a review of a workspace created
 * through the review store with its library record, and the insights as a server computes them
 * (InsightsService over the library index and the insights store), all on the real Redis.
 */
import type { SectionRef, User } from '@prism/core';
import {
  ArchiveStore,
  type EventLog,
  FileObjectStore,
  InsightsStore,
  type LibraryStore,
  type ReviewStore,
} from '@prism/store';
import type { Redis } from 'ioredis';
import { InsightsService } from '../src/domain/insights.ts';
import { LibraryIndex } from '../src/domain/library-index.ts';

export interface BenchStores {
  redis: Redis;
  log: EventLog;
  reviews: ReviewStore;
  library: LibraryStore;
  prefix: string;
}

/** Creates review `id` of `workspaceId` (sections with one word of text each) and its library record. */
export async function createWorkspaceReview(
  stores: BenchStores,
  review: {
    id: string;
    title: string;
    createdAt: string;
    owner: User;
    workspaceId: string;
    sections: SectionRef[];
  },
): Promise<void> {
  const { id, title, createdAt, owner, workspaceId, sections } = review;
  await stores.reviews.create(
    {
      id,
      title,
      createdAt,
      owner,
      sections,
      original: { key: `reviews/${id}/original.docx`, name: 'x.docx', bytes: 1 },
      workspaceId,
    },
    sections.map((s) => ({ ...s, html: '<p>x</p>', text: 'x' })) as never,
  );
  await stores.library.record({ id, title, owner, workspaceId, createdAt, sections, text: '' });
}

/** A fresh InsightsService, as a server builds one (its own index: a cold server's first answer). */
export function benchInsights(stores: BenchStores): InsightsService {
  const objects = new FileObjectStore(`/tmp/${stores.prefix.replaceAll(':', '_')}`);
  const archives = new ArchiveStore(stores.redis, stores.log, objects);
  const index = new LibraryIndex(stores.library);
  return new InsightsService({
    store: new InsightsStore(stores.redis, stores.prefix, { readArchive: (id) => archives.read(id) }),
    records: (workspaceId) => index.records(`ws:${workspaceId}`),
  });
}
