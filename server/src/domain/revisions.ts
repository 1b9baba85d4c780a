/**
 * Re-review of a revised document (CONTRACT 7.5): a new revision is checked and parsed exactly as
 * an upload is (same limits, same codes), matched to the previous revision in core, its original
 * and its sections' text kept under the review's object prefix, and only then written, in one
 * guarded append. A refusal changes nothing; a lost race (a decision or another revision meanwhile)
 * decides again from what is there now.
 */
import {
  carryItems,
  type DiffChange,
  matchSections,
  PrismError,
  type RevisionInfo,
  type Section,
  type SectionState,
  type User,
  wordDiff,
} from '@prism/core';
import {
  type LibraryStore,
  type ObjectStore,
  type ReviewMeta,
  RevisionStore,
  revisionObjectKeys,
  revisionRecords,
  type SectionStatusRecord,
} from '@prism/store';
import type { ParseLimits } from '../infra/parse-task.ts';
import type { DocumentParser, IncomingFile } from './ingest.ts';
import { searchText } from './library-text.ts';
import type { ReviewService } from './review-service.ts';

const MAX_RACES = 5;

/** What the diff route compares: each section's heading and text as of one revision. */
type SectionTexts = { id: string; title: string; text: string }[];

const textsOf = (sections: readonly Section[]): SectionTexts =>
  sections.map(({ id, title, text }) => ({ id, title, text }));

export interface AddedRevision {
  number: number;
  changedSections: string[];
}

export class RevisionService {
  private readonly reviews: ReviewService;
  private readonly writes: RevisionStore;
  private readonly objects: ObjectStore;
  private readonly parser: DocumentParser;
  private readonly limits: ParseLimits;
  private readonly now: () => string;
  private readonly library: LibraryStore | undefined;

  constructor(deps: {
    reviews: ReviewService;
    /** Where the review is found by its words (the library): given the new revision's text. */
    library?: LibraryStore;
    objects: ObjectStore;
    parser: DocumentParser;
    limits: ParseLimits;
    now?: () => string;
  }) {
    this.reviews = deps.reviews;
    this.writes = new RevisionStore(deps.reviews.store.log);
    this.objects = deps.objects;
    this.parser = deps.parser;
    this.limits = deps.limits;
    this.now = deps.now ?? (() => new Date().toISOString());
    this.library = deps.library;
  }

  private get store() {
    return this.reviews.store;
  }

  /** Checks who may revise (owner, reviewer; an open review), before the file is read. */
  async authorize(reviewId: string, user: User): Promise<void> {
    // Revising changes the findings: the same rule as writing them (reviewer up, refused once submitted).
    await this.reviews.authorize(reviewId, user, 'feedback:write');
  }

  async add(reviewId: string, user: User, file: IncomingFile): Promise<AddedRevision> {
    await this.authorize(reviewId, user);
    // The same checks and codes as an upload; nothing is stored before they pass.
    const parsed = await this.parser.parseDocument(file.data, this.limits);
    for (let attempt = 0; attempt < MAX_RACES; attempt += 1) {
      const added = await this.tryAdd(reviewId, user, file, parsed);
      if (added) return added;
    }
    throw new PrismError('conflict', 'The review kept changing while the revision was applied; try again.');
  }

  private async tryAdd(
    reviewId: string,
    user: User,
    file: IncomingFile,
    parsed: Awaited<ReturnType<DocumentParser['parseDocument']>>,
  ): Promise<AddedRevision | undefined> {
    const { meta } = await this.reviews.authorize(reviewId, user, 'feedback:write');
    const [previous, stored, { statuses }] = await Promise.all([
      this.store.sections(reviewId),
      this.store.feedbackItems(reviewId),
      this.store.analysisState(reviewId),
    ]);
    const busy = Object.values(statuses).some((s) => s.status === 'queued' || s.status === 'analyzing');
    if (busy) {
      throw new PrismError(
        'conflict',
        'Sections are being analysed; wait for the analysis to finish or cancel it, then upload the revision.',
      );
    }
    const number = (meta.revision ?? 1) + 1;
    const match = matchSections(previous, parsed.sections, (index) => `r${number}s${index + 1}`);
    const carry = carryItems(
      stored.map(({ item }) => item),
      match,
      number,
    );
    const at = this.now();
    const keys = revisionObjectKeys(reviewId, number);
    const original = { key: keys.original, name: file.name, bytes: file.data.length };
    const record = {
      number,
      at,
      by: user,
      name: file.name,
      changedSections: match.changedSections,
      newSections: match.newSections,
      removedSections: match.removedSections,
      carried: carry.carried.length,
      outdated: carry.outdated.length,
    } satisfies RevisionInfo;
    const next: ReviewMeta = {
      ...meta,
      sections: match.sections.map(({ id, title, level, index }) => ({ id, title, level, index })),
      original,
      revision: number,
      revisions: [...revisionRecords(meta), { ...record, original }],
    };
    if (parsed.anchors) next.anchors = parsed.anchors;
    else delete next.anchors;

    await Promise.all([
      this.objects.put(keys.original, file.data),
      this.objects.put(keys.texts, JSON.stringify(textsOf(match.sections))),
      // Revision 1's text is the review's sections until now.
      number === 2
        ? this.objects.put(revisionObjectKeys(reviewId, 1).texts, JSON.stringify(textsOf(previous)))
        : undefined,
    ]);

    const raws = new Map(stored.map((s) => [s.item.id, s]));
    const changed = new Set(match.changedSections);
    const sections: SectionState[] = match.sections.map((section) => {
      const status: SectionStatusRecord = changed.has(section.id)
        ? { status: 'idle' }
        : (statuses[section.id] ?? { status: 'idle' });
      return { ...section, ...status };
    });
    const updated = [...carry.carried, ...carry.outdated].map((item) => ({
      item,
      before: raws.get(item.id)!,
    }));
    const result = await this.writes.add({
      reviewId,
      actor: user,
      at,
      meta: next,
      sections: match.sections,
      previousStatuses: Object.fromEntries(
        previous.map((s) => [s.id, statuses[s.id] ? JSON.stringify(statuses[s.id]) : '']),
      ),
      idle: match.changedSections,
      removedSections: match.removedSections,
      updated,
      removed: carry.removed.map((item) => raws.get(item.id)!),
      data: {
        number,
        changedSections: match.changedSections,
        carried: record.carried,
        outdated: record.outdated,
        revision: record,
        sections,
        items: updated.map(({ item }) => item),
        removedItems: carry.removed.map((item) => item.id),
      },
    });
    if (!result.ok) {
      if (result.guard === 0) throw new PrismError('not_found', 'There is no review with this id.');
      return undefined;
    }
    // The library finds the review by the words of its latest revision.
    await this.library?.update(reviewId, { text: searchText(meta.title, match.sections), updatedAt: at });
    return { number, changedSections: match.changedSections };
  }

  /** The word diff of one section of revision `n` against revision `n - 1` (all inserted for n = 1). */
  async diff(reviewId: string, user: User, n: number, sectionId: string): Promise<{ changes: DiffChange[] }> {
    const { meta } = await this.reviews.authorize(reviewId, user, 'review:read');
    const latest = meta.revision ?? 1;
    if (n > latest)
      throw new PrismError('not_found', `This review has no revision ${n}; its latest is ${latest}.`);
    const [after, before] = await Promise.all([
      this.texts(reviewId, n, latest),
      n > 1 ? this.texts(reviewId, n - 1, latest) : [],
    ]);
    const now = after.find((s) => s.id === sectionId);
    const then = before.find((s) => s.id === sectionId);
    if (!now && !then) {
      throw new PrismError('not_found', `Neither revision ${n} nor the one before has section ${sectionId}.`);
    }
    return wordDiff(then?.text ?? '', now?.text ?? '');
  }

  private async texts(reviewId: string, n: number, latest: number): Promise<SectionTexts> {
    // A review never revised has its text only in Redis.
    if (latest === 1) return textsOf(await this.store.sections(reviewId));
    const raw = await this.objects.get(revisionObjectKeys(reviewId, n).texts).catch(() => {
      throw new PrismError('not_found', `The text of revision ${n} is missing from the object store.`);
    });
    return JSON.parse(raw.toString('utf8')) as SectionTexts;
  }
}
