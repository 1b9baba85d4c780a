/**
 * The prose hits of a section as findings a team can work through: one finding per kind per
 * section, quoting the first occurrence's exact words and listing the others, with a
 * `replacement` only where the rewrite is grammatical by construction.
 */
import type { Finding } from '../provider.ts';
import type { Hit, ProseKind } from './prose.ts';
import { LONG_SENTENCE } from './prose.ts';
import { andMore, matchCase, normal, opening, q, unique } from './text.ts';

const CLARITY = 9;
const EVIDENCE = 3;
const IMPACT = 5;
/** How many other occurrences a description names before it only counts the rest. */
const NAMED = 5;

/** The order a section's prose findings come in: the most useful first. */
const ORDER: ProseKind[] = [
  'Repeated word',
  'Long sentence',
  'Wordiness',
  'Passive voice',
  'Hedging',
  'Weasel words',
  'Filler words',
];

/**
 * Wordy phrases whose plain form replaces them in any sentence; any other phrase retext-simplify
 * flags gets a description but no rewrite, because a swap out of context can break the grammar.
 */
const SAFE_SWAPS: Record<string, string> = {
  'in order to': 'to',
  'in order for': 'for',
  utilize: 'use',
  utilizes: 'uses',
  utilized: 'used',
  utilizing: 'using',
  utilise: 'use',
  utilises: 'uses',
  utilised: 'used',
  utilising: 'using',
  'prior to': 'before',
  'due to the fact that': 'because',
  'owing to the fact that': 'because',
  'in spite of the fact that': 'although',
  'despite the fact that': 'although',
  'in the event that': 'if',
  'at this point in time': 'now',
  'at the present time': 'now',
  'in the near future': 'soon',
  'a large number of': 'many',
  'in close proximity to': 'near',
  'is able to': 'can',
  'are able to': 'can',
  'has the ability to': 'can',
  'have the ability to': 'can',
  'with regard to': 'about',
  'with respect to': 'about',
  'in regard to': 'about',
  'whether or not': 'whether',
  commence: 'start',
  commenced: 'started',
  commences: 'starts',
  'on a daily basis': 'daily',
  'on a weekly basis': 'weekly',
  'on a monthly basis': 'monthly',
  'until such time as': 'until',
  'for the purpose of': 'for',
  'in the amount of': 'for',
};

interface Wording {
  description: string;
  suggestion: string;
  questions: string[];
  refs: number[];
  replacement?: string;
}

/** The other occurrences, named briefly: "“was made”, “were sent” and 3 more". */
function others(hits: Hit[], show: (hit: Hit) => string): { named: string; count: number } {
  const own = normal(show(hits[0]!));
  const distinct = unique(
    hits.slice(1).filter((h) => normal(show(h)) !== own),
    (h) => normal(show(h)),
  );
  const shown = distinct.slice(0, NAMED).map((h) => q(show(h)));
  return { named: andMore(shown, distinct.length), count: hits.length - 1 };
}

const flat = (hit: Hit): string => hit.actual.replace(/\s+/g, ' ');

function word(kind: ProseKind, hits: Hit[]): Wording {
  const first = hits[0]!;
  const rest = others(hits, flat);
  // "; so are “was paid” and “were sent” (31 in this section)": the total when names repeat.
  const total = hits.length > 2 ? ` (${hits.length} in this section)` : '';
  const also = (what: string): string =>
    rest.named
      ? `; ${what} ${rest.named}${total}`
      : hits.length > 1
        ? ` (${hits.length} times in this section)`
        : '';
  switch (kind) {
    case 'Passive voice':
      return {
        description: `${q(flat(first))} is passive voice and does not say who acted${also('so are')}.`,
        suggestion:
          'Where it matters who acted (a decision, an action, a failure), name them and make them the subject of an active verb.',
        questions: ['Who did this?'],
        refs: [CLARITY],
      };
    case 'Long sentence': {
      const starts = others(hits, (h) => `${opening(h.actual, 5)}…`);
      return {
        description:
          `This ${first.words}-word sentence is hard to follow in one reading` +
          (starts.count > 0
            ? `; ${starts.count} more in this section ${starts.count === 1 ? 'runs' : 'run'} over ${LONG_SENTENCE - 1} words: ${starts.named}`
            : '') +
          '.',
        suggestion: 'Split it into sentences of under 25 words, one point each.',
        questions: [],
        refs: [CLARITY],
      };
    }
    case 'Hedging':
      return {
        description: `${q(flat(first))} hedges the statement, so the reader cannot tell what is established and what is a guess${also('other hedges here:')}.`,
        suggestion:
          'If it is confirmed, state it plainly; if not, say what is uncertain and what would settle it.',
        questions: ['Is this confirmed?'],
        refs: [CLARITY, EVIDENCE],
      };
    case 'Weasel words': {
      const quantity = first.sort === 'quantity';
      return {
        description: `${q(flat(first))} ${quantity ? 'is a vague amount with no number behind it' : 'adds emphasis but no information'}${also('likewise')}.`,
        suggestion: quantity
          ? 'Give the number or range (for example “14 of 20 customers”, “40% slower”).'
          : 'Delete the intensifier, or replace it with the fact that makes it true (a number, a date, an effect).',
        questions: quantity ? ['How many, or how much, exactly?'] : [],
        refs: quantity ? [CLARITY, IMPACT] : [CLARITY],
      };
    }
    case 'Filler words':
      return {
        description: `${q(flat(first))} is a filler word that adds nothing to the sentence${also('so are')}.`,
        suggestion: 'Delete it; if the point needs support, give the evidence instead.',
        questions: [],
        refs: [CLARITY],
      };
    case 'Wordiness': {
      const swap = (hit: Hit): string | undefined => SAFE_SWAPS[normal(hit.actual)];
      const plain = (hit: Hit): string | undefined => swap(hit) ?? hit.expected[0];
      const named = (hit: Hit): string => (plain(hit) ? `${flat(hit)} (${plain(hit)})` : flat(hit));
      const list = others(hits, named);
      const replacement = swap(first);
      return {
        description:
          `${q(flat(first))} is wordy${plain(first) ? `: ${q(matchCase(first.actual, plain(first)!))} says the same` : ''}` +
          (list.count > 0 ? `; other wordy phrases here: ${list.named}` : '') +
          '.',
        suggestion: 'Use the plain word; where a phrase adds nothing, delete it.',
        questions: [],
        refs: [CLARITY],
        ...(replacement ? { replacement: matchCase(first.actual, replacement) } : {}),
      };
    }
    case 'Repeated word': {
      const single = first.expected[0] ?? '';
      return {
        description: `${q(flat(first))}: ${q(single)} appears twice in a row${also('also')}.`,
        suggestion: `Delete the second ${q(single)}.`,
        questions: [],
        refs: [CLARITY],
        replacement: first.cell.text.slice(first.start, first.end).split(/\s+/)[0]!,
      };
    }
  }
}

/** One finding per kind of prose hit, the most useful kinds first. */
export function proseFindings(hits: Hit[]): Finding[] {
  const byKind = new Map<ProseKind, Hit[]>();
  for (const hit of hits) byKind.set(hit.kind, [...(byKind.get(hit.kind) ?? []), hit]);
  const findings: Finding[] = [];
  for (const kind of ORDER) {
    const mine = byKind.get(kind);
    if (!mine || mine.length === 0) continue;
    const first = mine[0]!;
    const quote = kind === 'Long sentence' ? opening(first.actual) : first.actual.trim();
    const { description, suggestion, questions, refs, replacement } = word(kind, mine);
    findings.push({
      type: 'suggestion',
      category: kind === 'Long sentence' ? 'Readability' : kind,
      description,
      suggestion,
      questions,
      refs,
      risk: 'low',
      // A rule either matches or it does not: this is not a probability.
      confidence: 1,
      quote,
      ...(replacement ? { replacement } : {}),
    });
  }
  return findings;
}
