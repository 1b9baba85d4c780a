/**
 * The checklist call (CONTRACT 7.4): once every section is analysed, ONE model call over the
 * review's cached prefix (the system prompt of prompts.ts, byte-identical to the section jobs')
 * judges every checkpoint of the rubric. The task goes in the user turn, after the cache point,
 * inside `<checklist>`; the answer is JSON Lines, one verdict per checkpoint.
 *
 * The parser is strict on meaning: a line for a checkpoint the rubric lacks, an unknown verdict or
 * no explanation is dropped; the first line per checkpoint wins; every evidence quote must be
 * verbatim text of the section it names (whitespace collapsed), else that quote is dropped.
 * Checkpoints the model left out get `na`, saying so.
 */
import {
  CHECKLIST_LIMITS,
  type ChecklistEntry,
  type Evidence,
  type Rubric,
  VERDICTS,
  type Verdict,
} from '@prism/core';
import { z } from 'zod';
import { verbatimQuote } from './findings.ts';
import type { DocumentContext } from './provider.ts';

/** What a provider's checklist call returns: the entries (without round or time) and its usage. */
export interface ChecklistRequest {
  document: DocumentContext;
  rubric: Rubric;
}

export interface ChecklistResult {
  model: string;
  usage: { inputTokens: number; outputTokens: number; cacheReadTokens?: number; cacheWriteTokens?: number };
  entries: ChecklistEntry[];
}

export const CHECKLIST_FIELDS =
  '{"n":checkpoint number,"verdict":"pass|fail|partial|na","explanation":"one or two sentences on why, specific to this document","evidence":[{"sectionId":"id of the section","quote":"exact words of that section"}]}';

const escapeText = (text: string): string => text.replace(/</g, '‹');

/** The checklist task (after the cache point). */
export function checklistPrompt(document: DocumentContext, rubric: Rubric): string {
  const checkpoints = rubric.checkpoints
    .map(
      (c) => `${c.n}. ${escapeText(c.title)}${c.required ? '' : ' (optional)'}: ${escapeText(c.description)}`,
    )
    .join('\n');
  const sections = document.sections.map((s) => `[${s.id}] ${escapeText(s.title)}`).join('\n');
  return `<checklist>
Every section has been reviewed on its own. Now judge the document as a whole against each checkpoint of the rubric "${escapeText(rubric.name)}":
${checkpoints}

Verdicts: pass (the document meets the checkpoint), fail (it does not), partial (it meets it in part), na (the checkpoint does not apply to this document).

Sections:
${sections}
</checklist>

Write exactly one line per checkpoint, in order, each with a short explanation and up to ${CHECKLIST_LIMITS.evidence} evidence quotes: the exact words of the document that show the verdict, copied character for character from ONE paragraph or table cell of the section named (at most about 200 characters each). For a failed checkpoint, quote what falls short; leave evidence empty when what is missing cannot be quoted.

Answer in JSON Lines: one JSON object per line, no other text, no code fences. Each object:
${CHECKLIST_FIELDS}`;
}

const ModelVerdict = z.object({
  n: z.coerce.number().int().min(1),
  verdict: z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .trim()
            .toLowerCase()
            .replace(/^n\/a$/, 'na')
        : v,
    z.enum(VERDICTS),
  ),
  explanation: z
    .string()
    .trim()
    .min(1)
    .transform((s) => s.slice(0, CHECKLIST_LIMITS.explanation)),
  evidence: z
    .array(z.object({ sectionId: z.string().trim().min(1), quote: z.string().trim().min(1).max(2000) }))
    .catch([])
    .default([]),
});

/** Parses one line as a verdict, or undefined for prose, fences and broken JSON. */
function verdictLine(line: string): z.infer<typeof ModelVerdict> | undefined {
  const trimmed = line.trim().replace(/,$/, '');
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const parsed = ModelVerdict.safeParse(JSON.parse(trimmed));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The evidence that is verbatim in the document, as it stands there; invented quotes are dropped. */
export function verbatimEvidence(evidence: Evidence[], document: DocumentContext): Evidence[] {
  const sections = new Map(document.sections.map((s) => [s.id, s]));
  const kept: Evidence[] = [];
  for (const { sectionId, quote } of evidence) {
    const section = sections.get(sectionId);
    const verbatim = section ? verbatimQuote(quote, section.text) : undefined;
    if (!verbatim || kept.some((e) => e.sectionId === sectionId && e.quote === verbatim)) continue;
    kept.push({ sectionId, quote: verbatim });
    if (kept.length >= CHECKLIST_LIMITS.evidence) break;
  }
  return kept;
}

/**
 * The model's answer as one entry per checkpoint of the rubric, in order. `model` names the model
 * that answered; the entries carry it.
 */
export function parseChecklistAnswer(
  text: string,
  rubric: Rubric,
  document: DocumentContext,
  model: string,
): ChecklistEntry[] {
  const known = new Set(rubric.checkpoints.map((c) => c.n));
  const found = new Map<number, ChecklistEntry>();
  for (const line of text.split('\n')) {
    const parsed = verdictLine(line);
    if (!parsed || !known.has(parsed.n) || found.has(parsed.n)) continue;
    found.set(parsed.n, {
      n: parsed.n,
      verdict: parsed.verdict as Verdict,
      explanation: parsed.explanation,
      evidence: verbatimEvidence(parsed.evidence, document),
      source: 'ai',
      model,
    });
  }
  return rubric.checkpoints.map(
    (c) =>
      found.get(c.n) ?? {
        n: c.n,
        verdict: 'na',
        explanation:
          'The model gave no verdict for this checkpoint; analyse the review again to ask once more.',
        evidence: [],
        source: 'ai',
        model,
      },
  );
}
