/**
 * Turns a model's streamed answer into findings the moment each one is complete: the answer is
 * JSON Lines, so every newline may close a finding. Each is validated, its quote checked against
 * the section, low-confidence ones are held back, and near-duplicates merged.
 */
import { collapse, FEEDBACK_TYPES, LIMITS, RISKS } from '@prism/core';
import { z } from 'zod';
import type { Finding } from './provider.ts';

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
  const trimmed = line.trim().replace(/,$/, '');
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  const parsed = ModelFinding.safeParse(raw);
  if (!parsed.success) return undefined;
  const finding: Finding = { ...parsed.data, questions: parsed.data.questions, refs: parsed.data.refs };
  for (const key of ['suggestion', 'example', 'quote'] as const) {
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

export interface FindingFilterOptions {
  /** Findings below this confidence are not shown. Default 0.8. */
  minConfidence?: number;
  /** Description similarity from which two findings on the same quote (or none) are one. Default 0.7. */
  duplicateSimilarity?: number;
}

/** Decides, finding by finding, what reaches the room. */
export class FindingFilter {
  private readonly kept: Finding[] = [];
  private readonly sectionText: string;
  private readonly minConfidence: number;
  private readonly duplicateSimilarity: number;

  constructor(sectionText: string, options: FindingFilterOptions = {}) {
    this.sectionText = sectionText;
    this.minConfidence = options.minConfidence ?? 0.8;
    this.duplicateSimilarity = options.duplicateSimilarity ?? 0.7;
  }

  /** The finding as it should be shown, or undefined when it must not be. */
  accept(finding: Finding): Finding | undefined {
    if (finding.confidence < this.minConfidence) return undefined;
    const next: Finding = { ...finding };
    const quote = verbatimQuote(finding.quote, this.sectionText);
    if (quote) next.quote = quote;
    else delete next.quote;
    const duplicate = this.kept.some(
      (other) =>
        (other.quote ?? '') === (next.quote ?? '') &&
        similarity(other.description, next.description) >= this.duplicateSimilarity,
    );
    if (duplicate) return undefined;
    this.kept.push(next);
    return next;
  }
}
