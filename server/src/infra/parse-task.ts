/**
 * What a parsing thread does with one upload (parse-worker.ts runs it; parse-pool.ts sends it):
 * check the bytes, refuse what is over a limit while that is still cheap, then section and anchor
 * a document or read the text of guidelines. Pure core calls, no I/O: it runs the same in a test.
 */
import {
  anchorSections,
  DOCX_LIMITS,
  type ErrorBody,
  type ExtractedDocument,
  extractSections,
  inspectDocx,
  isPrismError,
  PrismError,
  type SectionAnchor,
} from '@prism/core';
import mammoth from 'mammoth';

/** Limits one task is read under (ServerConfig.parse). */
export interface ParseLimits {
  maxPartBytes: number;
  maxSections: number;
}

export type ParseTask =
  | { kind: 'document'; data: Uint8Array; limits: ParseLimits }
  | { kind: 'guidelines'; data: Uint8Array; limits: ParseLimits };

export interface ParsedDocument extends ExtractedDocument {
  /** Where each section starts in the XML, for the export; absent when the XML could not be aligned. */
  anchors?: SectionAnchor[];
}

export interface ParsedGuidelines {
  text: string;
}

export type ParseOutcome =
  | { ok: true; document: ParsedDocument }
  | { ok: true; guidelines: ParsedGuidelines }
  | { ok: false; error: ErrorBody };

/** Messages between the pool and a thread: a task by id, and its outcome (or a crash) by the same id. */
export type ToWorker = { id: number; task: ParseTask };
export type FromWorker =
  | { ready: true }
  | { id: number; outcome: ParseOutcome }
  | { id: number; crash: string };

const tooManySections = (found: number, max: number): PrismError =>
  new PrismError(
    'too_complex',
    `The document splits into ${found.toLocaleString('en-US')} sections; a review holds at most ${max.toLocaleString('en-US')}. Split it into smaller documents, or use fewer headings, and upload again.`,
  );

async function parseDocument(data: Uint8Array, limits: ParseLimits): Promise<ParsedDocument> {
  inspectDocx(data, 'The document', { ...DOCX_LIMITS, maxPartBytes: limits.maxPartBytes });
  // The XML's own split counts the sections before mammoth builds its (far costlier) tree, so a
  // file of 50,000 headings is refused in a second or two. Core keeps that parse with the buffer,
  // and sectioning and anchoring below reuse it.
  let found: number | undefined;
  try {
    found = anchorSections(data).length;
  } catch {
    // mammoth may still read what this cannot; the count after it holds either way.
  }
  if (found !== undefined && found > limits.maxSections) throw tooManySections(found, limits.maxSections);
  const extracted = await extractSections(data);
  if (extracted.sections.length > limits.maxSections) {
    throw tooManySections(extracted.sections.length, limits.maxSections);
  }
  let anchors: SectionAnchor[] | undefined;
  try {
    anchors = anchorSections(data, extracted.sections);
  } catch {
    // Without anchors the export finds sections again from the XML when it needs them.
  }
  return { ...extracted, ...(anchors ? { anchors } : {}) };
}

async function parseGuidelines(data: Uint8Array, limits: ParseLimits): Promise<ParsedGuidelines> {
  inspectDocx(data, 'The guidelines', { ...DOCX_LIMITS, maxPartBytes: limits.maxPartBytes });
  const text = await mammoth
    .extractRawText({ buffer: Buffer.from(data.buffer, data.byteOffset, data.byteLength) })
    .then((r) => r.value.trim())
    .catch(() => {
      throw new PrismError('corrupt_document', 'The guidelines are damaged and cannot be read.');
    });
  if (!text) throw new PrismError('empty_document', 'The guidelines have no text.');
  return { text };
}

/** Runs one task; a refusal comes back as its code and message, anything else is rethrown. */
export async function runParseTask(task: ParseTask): Promise<ParseOutcome> {
  try {
    if (task.kind === 'document') return { ok: true, document: await parseDocument(task.data, task.limits) };
    return { ok: true, guidelines: await parseGuidelines(task.data, task.limits) };
  } catch (error) {
    if (isPrismError(error)) return { ok: false, error: error.toBody() };
    throw error;
  }
}
