/**
 * The `rules` provider: what Prism does when no model is configured (ARCHITECTURE principle 7).
 * Analysis runs deterministic checks a review team cares about, each citing its rubric
 * checkpoint: placeholders, actions without an owner or a due date, a timeline out of order,
 * figures that disagree between sections, undefined acronyms, broken words, empty sections and
 * sections the guidelines require (structure.ts, document.ts, for any language); then English
 * prose checks on English paragraphs, one finding per kind per section (prose.ts, wording.ts). A
 * section in another language gets the structural checks and a note saying so. Chat searches the document
 * (search.ts). Nothing here pretends to be a model: the job stores every item with source
 * "rules" and model "rules", and every confidence is 1.
 */
import type {
  AiProvider,
  AnalysisRequest,
  AnalysisResult,
  AnalysisSink,
  ChatRequest,
  ChatResult,
  ChatSink,
  DocumentContext,
  DocumentSection,
  Finding,
} from '../provider.ts';
import { ProviderError } from '../provider.ts';
import { inconsistentQuantities, missingSections, undefinedAcronyms } from './document.ts';
import { detectLanguage, type Language, languageNote, looksEnglish } from './language.ts';
import { proseHits } from './prose.ts';
import { chunks, searchAnswer } from './search.ts';
import { actions, brokenWords, emptySection, placeholders, timeline } from './structure.ts';
import { bodyCells } from './text.ts';
import { proseFindings } from './wording.ts';

export { looksEnglish } from './language.ts';
export { chunks, searchAnswer } from './search.ts';
export { splitSentences } from './text.ts';

export const RULES_MODEL = 'rules';
/** At most this many findings per section when the request sets no cap: structural ones first. */
export const MAX_FINDINGS = 12;

export interface SectionCheck {
  findings: Finding[];
  language: Language;
  /** Set when the prose checks do not cover the section's language. */
  note?: string;
}

/**
 * The findings of one section, structural ones first (they are the defects a team must fix),
 * then one prose finding per kind. `document` (the whole review's) enables the checks across
 * sections; without it the section is checked alone.
 */
export function checkSection(
  section: DocumentSection,
  options: { document?: DocumentContext; signal?: AbortSignal; max?: number } = {},
): SectionCheck {
  const { signal, max = MAX_FINDINGS } = options;
  const document = options.document ?? { reviewId: '', title: section.title, sections: [section] };
  const cells = bodyCells(section);
  const language = detectLanguage(cells.map((c) => c.text).join('\n'));
  const structural = [
    ...missingSections(section, document),
    ...emptySection(section, document.sections),
    ...placeholders(cells),
    ...inconsistentQuantities(section, document),
    ...timeline(cells, section.title),
    ...actions(section, cells),
    ...brokenWords(cells),
    ...undefinedAcronyms(section, document),
  ];
  // Each paragraph is checked for English before the prose checks run on it, so an English
  // paragraph in a Chinese section is still checked, and a Chinese one in an English section not.
  const hits = [];
  let englishCells = 0;
  for (const cell of cells) {
    if (signal?.aborted) throw signal.reason;
    if (looksEnglish(cell.text)) englishCells++;
    hits.push(...proseHits(cell));
  }
  const findings = [...structural, ...proseFindings(hits)].slice(0, max).map(quotable);
  const note = languageNote(language, englishCells > 0);
  return { findings, language, ...(note ? { note } : {}) };
}

/** The job trims quotation marks from a quote's ends; trimming them here keeps it exactly as shown. */
function quotable(finding: Finding): Finding {
  if (!finding.quote) return finding;
  const quote = finding.quote.replace(/^["“”'‘’]+|["“”'‘’]+$/g, '').trim();
  return quote === finding.quote ? finding : { ...finding, quote };
}

export class RulesProvider implements AiProvider {
  readonly name = 'rules' as const;

  async analyze(request: AnalysisRequest, sink: AnalysisSink, signal: AbortSignal): Promise<AnalysisResult> {
    if (signal.aborted) throw signal.reason;
    const section = request.document.sections.find((s) => s.id === request.sectionId);
    if (!section) throw new ProviderError('not_found', 'The section to analyze does not exist.');
    const { findings, note } = checkSection(section, {
      document: request.document,
      signal,
      ...(request.maxFindings ? { max: request.maxFindings } : {}),
    });
    await sink.started(RULES_MODEL);
    for (const finding of findings) {
      if (signal.aborted) throw signal.reason;
      await sink.finding(finding);
    }
    if (signal.aborted) throw signal.reason;
    return {
      model: RULES_MODEL,
      usage: { inputTokens: 0, outputTokens: 0 },
      stopReason: 'end_turn',
      ...(note ? { note } : {}),
    };
  }

  async chat(request: ChatRequest, sink: ChatSink, signal: AbortSignal): Promise<ChatResult> {
    if (signal.aborted) throw signal.reason;
    const answer = searchAnswer(request);
    await sink.started(RULES_MODEL);
    for (const piece of chunks(answer.text)) {
      if (signal.aborted) throw signal.reason;
      sink.text(piece);
    }
    return {
      model: RULES_MODEL,
      usage: { inputTokens: 0, outputTokens: 0 },
      text: answer.text,
      stopReason: 'end_turn',
      citations: answer.citations,
    };
  }

  describe(): Record<string, unknown> {
    return { provider: 'rules' };
  }
}
