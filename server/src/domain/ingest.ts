/**
 * A new review from an upload: check and parse the document (and its guidelines) under the
 * server's limits, off the event loop (infra/parse-pool.ts), and only when everything passed store
 * the files and create the review. A refusal leaves nothing behind.
 */
import { type Rubric, shortTitle, type User } from '@prism/core';
import type { LibraryStore, ObjectStore, ReviewMeta, ReviewStore } from '@prism/store';
import type { ParsedDocument, ParsedGuidelines, ParseLimits } from '../infra/parse-task.ts';
import { newId } from './ids.ts';
import { searchText } from './library-text.ts';

/** Reads uploads with bounded time and memory; refusals are PrismErrors with stable codes. */
export interface DocumentParser {
  parseDocument(data: Uint8Array, limits: ParseLimits): Promise<ParsedDocument>;
  parseGuidelines(data: Uint8Array, limits: ParseLimits): Promise<ParsedGuidelines>;
}

export interface IncomingFile {
  name: string;
  data: Uint8Array;
}

export interface NewReview {
  file: IncomingFile;
  /** Empty guidelines count as none. */
  guidelines?: IncomingFile | undefined;
  /** The title the person typed, if any. */
  title?: string | undefined;
  /** The workspace it goes into (the caller is a member: checked before); absent: the person's own. */
  workspaceId?: string | undefined;
  /** The workspace rubric it is judged against, at the version it starts with; absent: the default. */
  rubric?: Rubric | undefined;
}

/** Guidelines go into every prompt whole: past this they are cut. */
const MAX_GUIDELINES_CHARS = 50_000;

const titleFrom = (given: string | undefined, heading: string | undefined, filename: string): string =>
  shortTitle(given?.trim() || heading || filename.replace(/\.docx$/i, '') || 'Untitled document');

export class Ingest {
  private readonly store: ReviewStore;
  private readonly library: LibraryStore | undefined;
  private readonly objects: ObjectStore;
  private readonly parser: DocumentParser;
  private readonly limits: ParseLimits;

  constructor(deps: {
    store: ReviewStore;
    /** Where the review is listed and found (the library). */
    library?: LibraryStore;
    objects: ObjectStore;
    parser: DocumentParser;
    limits: ParseLimits;
  }) {
    this.store = deps.store;
    this.library = deps.library;
    this.objects = deps.objects;
    this.parser = deps.parser;
    this.limits = deps.limits;
  }

  /** Checks, parses and stores an upload as a review `owner` owns; its stored meta. */
  async createReview(owner: User, upload: NewReview): Promise<ReviewMeta> {
    const { file } = upload;
    const extracted = await this.parser.parseDocument(file.data, this.limits);
    const guidelinesFile =
      upload.guidelines && upload.guidelines.data.length > 0 ? upload.guidelines : undefined;
    const guidelinesText = guidelinesFile
      ? (await this.parser.parseGuidelines(guidelinesFile.data, this.limits)).text
      : undefined;

    // Everything is checked: only now is anything stored.
    const id = newId('r');
    const original = { key: `reviews/${id}/original.docx`, name: file.name, bytes: file.data.length };
    await this.objects.put(original.key, file.data);
    let guidelines: ReviewMeta['guidelines'];
    if (guidelinesFile && guidelinesText !== undefined) {
      guidelines = {
        key: `reviews/${id}/guidelines.docx`,
        name: guidelinesFile.name,
        bytes: guidelinesFile.data.length,
        text: guidelinesText.slice(0, MAX_GUIDELINES_CHARS),
      };
      await this.objects.put(guidelines.key, guidelinesFile.data);
    }
    const meta: ReviewMeta = {
      id,
      title: titleFrom(upload.title, extracted.heading, file.name),
      createdAt: new Date().toISOString(),
      owner,
      sections: extracted.sections.map(({ id, title, level, index }) => ({ id, title, level, index })),
      original,
      ...(guidelines ? { guidelines } : {}),
      ...(extracted.anchors ? { anchors: extracted.anchors } : {}),
      ...(upload.workspaceId ? { workspaceId: upload.workspaceId } : {}),
      ...(upload.rubric ? { rubric: upload.rubric } : {}),
    };
    await this.store.create(meta, extracted.sections);
    await this.library?.record({
      id: meta.id,
      title: meta.title,
      owner: meta.owner,
      workspaceId: meta.workspaceId,
      createdAt: meta.createdAt,
      sections: meta.sections,
      text: searchText(meta.title, extracted.sections),
    });
    return meta;
  }
}
