/**
 * Turns a model's streamed answer into findings the moment each one is complete: the answer is
 * JSON Lines, so every newline may close a finding. Each is validated, its quote checked against
 * the section, low-confidence ones are held back, near-duplicates merged, what repeats a point
 * the team rejected dropped, and no more than the section's cap shown.
 */
import { collapse, FEEDBACK_TYPES, LIMITS, RISKS } from '@prism/core';
import { z } from 'zod';
import type { CrossFinding, Finding } from './provider.ts';

const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .transform((s) => s.slice(0, max));

/** Lenient where a model is predictably loose (case, numbers as strings), strict on meaning. */
const ModelFinding = z.object({
  type: z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(FEEDBACK_TYPES)),
  category: text(LIMITS.category),
  description: text(LIMITS.description),
  suggestion: z.string().trim().max(LIMITS.suggestion).optional().catch(undefined),
  example: z.string().trim().max(LIMITS.example).optional().catch(undefined),
  questions: z.array(z.string().trim().min(1).max(LIMITS.question)).max(10).catch([]).default([]),
  refs: z.array(z.coerce.number().int().min(1).max(100)).max(20).catch([]).default([]),
  risk: z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(RISKS)).catch('medium'),
  confidence: z.coerce.number().min(0).max(1),
  quote: z.string().trim().max(LIMITS.quote).optional().catch(undefined),
  replacement: z.string().trim().max(LIMITS.replacement).optional().catch(undefined),
});

/** A whole-document finding also names its section, and the other place it disagrees with. */
const ModelCrossFinding = ModelFinding.extend({
  sectionId: z.string().trim().min(1).max(100),
  otherSectionId: z.string().trim().min(1).max(100).optional().catch(undefined),
  otherQuote: z.string().trim().max(LIMITS.quote).optional().catch(undefined),
});

/** Splits streamed text into complete lines; the last, unfinished line waits for more. */
export class LineSplitter {
  private buffer = '';

  push(chunk: string): string[] {
    this.buffer += chunk;
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop() ?? '';
    return lines;
  }

  /** What is left when the stream ends (a last line without newline). */
  rest(): string {
    const rest = this.buffer;
    this.buffer = '';
    return rest;
  }
}

/** Parses one line as a finding, or undefined for prose, fences and broken JSON. */
export function parseFindingLine(line: string): Finding | undefined {
  const raw = jsonLine(line);
  if (raw === undefined) return undefined;
  const parsed = ModelFinding.safeParse(raw);
  return parsed.success ? cleanFinding(parsed.data) : undefined;
}

/** Parses one line of the whole-document pass, or undefined when it is not a finding. */
export function parseCrossFindingLine(line: string): CrossFinding | undefined {
  const raw = jsonLine(line);
  if (raw === undefined) return undefined;
  const parsed = ModelCrossFinding.safeParse(raw);
  if (!parsed.success) return undefined;
  const { sectionId, otherSectionId, otherQuote, ...rest } = parsed.data;
  const finding: CrossFinding = { ...cleanFinding(rest), sectionId };
  if (otherSectionId && otherSectionId !== sectionId) {
    finding.other = { sectionId: otherSectionId, ...(otherQuote ? { quote: otherQuote } : {}) };
  }
  return finding;
}

function jsonLine(line: string): unknown {
  const trimmed = line.trim().replace(/,$/, '');
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    return undefined;
  }
}

function cleanFinding(data: z.infer<typeof ModelFinding>): Finding {
  const finding: Finding = { ...data, questions: data.questions, refs: data.refs };
  for (const key of ['suggestion', 'example', 'quote', 'replacement'] as const) {
    if (!finding[key]) delete finding[key];
  }
  return finding;
}

/**
 * The quote as it stands in the section (whitespace collapsed), if it is verbatim text of one of
 * its lines (a paragraph, or a table cell: cells are tab-separated in section text).
 */
export function verbatimQuote(quote: string | undefined, sectionText: string): string | undefined {
  if (!quote) return undefined;
  const needle = collapse(quote.replace(/^["“']|["”']$/g, ''));
  if (needle.length < 3) return undefined;
  for (const line of sectionText.split('\n')) {
    for (const cell of line.split('\t')) {
      if (collapse(cell).includes(needle)) return needle;
    }
  }
  return undefined;
}

const words = (value: string): Set<string> =>
  new Set(
    value
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter((w) => w.length > 2),
  );

/** Jaccard similarity of the word sets: 1 for the same words, 0 for none shared. */
export function similarity(a: string, b: string): number {
  const x = words(a);
  const y = words(b);
  if (x.size === 0 || y.size === 0) return 0;
  let shared = 0;
  for (const w of x) if (y.has(w)) shared += 1;
  return shared / (x.size + y.size - shared);
}

/** What the team rejected in the section: a new item that says it again is not added. */
export interface RejectedPoint {
  description: string;
  quote?: string | undefined;
}

/** Description similarity from which a new item repeats a rejected one (token-set Jaccard). */
export const REPEAT_SIMILARITY = 0.6;

/**
 * True when the finding says again what the team rejected (CONTRACT 7.4, Learning): the same
 * quote, or a near-identical description. Quotes compare with whitespace and case folded.
 */
export function repeatsRejected(
  finding: Pick<Finding, 'description' | 'quote'>,
  rejected: RejectedPoint[],
): boolean {
  const quote = finding.quote ? collapse(finding.quote).toLowerCase() : '';
  return rejected.some(
    (point) =>
      (quote !== '' && point.quote !== undefined && collapse(point.quote).toLowerCase() === quote) ||
      similarity(point.description, finding.description) >= REPEAT_SIMILARITY,
  );
}

export interface FindingFilterOptions {
  /** Findings below this confidence are not shown. Default 0.8. */
  minConfidence?: number;
  /** Description similarity from which two findings on the same quote (or none) are one. Default 0.7. */
  duplicateSimilarity?: number;
  /** At most this many findings are shown (MAX_FINDINGS_PER_SECTION). Default: no cap. */
  maxFindings?: number;
  /** Points the team rejected in this section; findings repeating one are dropped. */
  rejected?: RejectedPoint[];
  /** Items already in the section: a finding duplicating one is dropped (it does not count to the cap). */
  existing?: RejectedPoint[];
}

/** Why the filter held a finding back (for logs and tests). */
export type Dropped = 'low_confidence' | 'duplicate' | 'rejected_before' | 'over_cap';

/** Decides, finding by finding, what reaches the room. */
export class FindingFilter {
  private readonly kept: Finding[] = [];
  private readonly sectionText: string;
  private readonly minConfidence: number;
  private readonly duplicateSimilarity: number;
  private readonly maxFindings: number;
  private readonly rejected: RejectedPoint[];
  private readonly existing: RejectedPoint[];
  /** Counts of what was held back, by reason. */
  readonly dropped: Record<Dropped, number> = {
    low_confidence: 0,
    duplicate: 0,
    rejected_before: 0,
    over_cap: 0,
  };

  constructor(sectionText: string, options: FindingFilterOptions = {}) {
    this.sectionText = sectionText;
    this.minConfidence = options.minConfidence ?? 0.8;
    this.duplicateSimilarity = options.duplicateSimilarity ?? 0.7;
    this.maxFindings = options.maxFindings ?? Number.POSITIVE_INFINITY;
    this.rejected = options.rejected ?? [];
    this.existing = options.existing ?? [];
  }

  /** How many findings were let through so far. */
  get shown(): number {
    return this.kept.length;
  }

  /** The finding as it should be shown, or undefined when it must not be. */
  accept(finding: Finding): Finding | undefined {
    if (finding.confidence < this.minConfidence) return this.drop('low_confidence');
    const next: Finding = { ...finding };
    const quote = verbatimQuote(finding.quote, this.sectionText);
    if (quote) next.quote = quote;
    else delete next.quote;
    // A rewrite replaces the quoted words: without them (or when it changes nothing) it has no place.
    if (!next.quote || !next.replacement || collapse(next.replacement) === next.quote)
      delete next.replacement;
    if (repeatsRejected(next, this.rejected)) return this.drop('rejected_before');
    const duplicate = [...this.existing, ...this.kept].some(
      (other) =>
        (other.quote ?? '') === (next.quote ?? '') &&
        similarity(other.description, next.description) >= this.duplicateSimilarity,
    );
    if (duplicate) return this.drop('duplicate');
    if (this.kept.length >= this.maxFindings) return this.drop('over_cap');
    this.kept.push(next);
    return next;
  }

  private drop(reason: Dropped): undefined {
    this.dropped[reason] += 1;
    return undefined;
  }
}
