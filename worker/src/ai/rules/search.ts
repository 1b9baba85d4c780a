/**
 * Chat without a model: the passages of the document that best match the question (MiniSearch,
 * fuzzy and prefix), quoted with their sections, saying plainly that no model answered.
 */
import MiniSearch from 'minisearch';
import type { ChatRequest } from '../provider.ts';
import { q, STOPWORDS, unique } from './text.ts';

/** A verbatim, trimmed piece of `text` of at most `max` characters around [start, end). */
function excerpt(text: string, start: number, end: number, max: number): string {
  if (text.trim().length <= max) return text.trim();
  const room = Math.max(0, max - (end - start));
  let from = Math.max(0, start - Math.floor(room / 3));
  let to = Math.min(text.length, from + max);
  if (to - from < max) from = Math.max(0, to - max);
  // Cut at word boundaries, inside the window.
  if (from > 0) {
    const space = text.indexOf(' ', from);
    if (space !== -1 && space < start) from = space + 1;
  }
  if (to < text.length) {
    const space = text.lastIndexOf(' ', to);
    if (space > end) to = space;
  }
  return text.slice(from, to).trim().slice(0, max).trim();
}

interface Passage {
  id: number;
  sectionId: string;
  title: string;
  text: string;
}

const PASSAGES = 3;
const PASSAGE_MAX = 500;
const NO_MODEL = 'No AI model is configured on this Prism, so this is not an AI answer';

const processTerm = (term: string): string | null => {
  const t = term.toLowerCase();
  return t.length < 2 || STOPWORDS.has(t) ? null : t;
};

/** The part of a long passage around the first word of the question it contains. */
function passageExcerpt(text: string, terms: string[]): string {
  const trimmed = text.trim();
  if (trimmed.length <= PASSAGE_MAX) return trimmed;
  const lower = trimmed.toLowerCase();
  const hits = terms.map((t) => lower.indexOf(t.toLowerCase())).filter((i) => i >= 0);
  const at = hits.length > 0 ? Math.min(...hits) : 0;
  const piece = excerpt(trimmed, at, at + 1, PASSAGE_MAX - 2);
  const start = trimmed.indexOf(piece);
  return `${start > 0 ? '…' : ''}${piece}${start + piece.length < trimmed.length ? '…' : ''}`;
}

/** The answer chat gives without a model, and the sections it cites. */
export function searchAnswer(request: ChatRequest): { text: string; citations: string[] } {
  const passages: Passage[] = [];
  for (const section of request.document.sections) {
    for (const line of section.text.split(/\r\n|\r|\n/)) {
      const text = line.replace(/\t+/g, ' · ').trim();
      if (text !== '')
        passages.push({ id: passages.length, sectionId: section.id, title: section.title, text });
    }
  }
  const index = new MiniSearch<Passage>({
    fields: ['text', 'title'],
    storeFields: ['sectionId', 'title', 'text'],
    processTerm,
    searchOptions: { fuzzy: 0.2, prefix: true, boost: { text: 2 } },
  });
  index.addAll(unique(passages, (p) => `${p.sectionId}\u0000${p.text}`));
  const results = index.search(request.question.text, {
    boostDocument: (_id, _term, stored) =>
      request.sectionId && stored?.sectionId === request.sectionId ? 1.2 : 1,
  });
  const top = results[0]?.score ?? 0;
  const best = results.filter((r) => r.score >= top * 0.25).slice(0, PASSAGES);
  const question = request.question.text.trim().replace(/\s+/g, ' ');
  const shortQuestion = question.length > 200 ? `${question.slice(0, 200)}…` : question;
  if (best.length === 0) {
    return {
      text: `${NO_MODEL}. Prism can only search the document for passages that match your question, and no passage matches ${q(shortQuestion)}. Try other words, such as a term the document itself uses.`,
      citations: [],
    };
  }
  const lines = best.map((r, i) => {
    const passage = passageExcerpt(String(r.text), r.terms);
    const number = best.length > 1 ? `${i + 1}. ` : '';
    return `${number}From ${q(String(r.title))} [${String(r.sectionId)}]: ${q(passage)}`;
  });
  const intro =
    best.length === 1
      ? 'this is the passage of the document that best matches your question'
      : `these are the ${best.length} passages of the document that best match your question`;
  return {
    text: `${NO_MODEL}: ${intro}.\n\n${lines.join('\n')}`,
    citations: unique(
      best.map((r) => String(r.sectionId)),
      (id) => id,
    ),
  };
}

/** The text in pieces of a few words each; joined, they give the text back exactly. */
export function chunks(text: string, words = 4): string[] {
  const tokens = text.split(/(?<=\s)(?=\S)/);
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i += words) out.push(tokens.slice(i, i + words).join(''));
  return out;
}
