/**
 * Structural checks on one section, for any language: placeholders left in, actions without an
 * owner or a due date, a timeline out of order, words broken by a hyphen and a space, and
 * sections with (nearly) nothing in them. Each cites the rubric checkpoint it rests on.
 */
import type { DocumentSection, Finding } from '../provider.ts';
import { dateAt, datesIn, timeAt, yearOf } from './dates.ts';
import { bodyCells, type Cell, cellsOf, list, q, splitSentences, wordsOf } from './text.ts';

/** Rubric checkpoints (prompts.ts DEFAULT_RUBRIC, from 1). */
export const REFS = {
  evidence: 3,
  timeline: 6,
  actions: 7,
  clarity: 9,
  consistency: 10,
  structure: 11,
  compliance: 12,
} as const;

/** At most this many findings of one kind per section; the last one counts the rest. */
export const PER_KIND = 5;

type Draft = Omit<Finding, 'confidence' | 'risk' | 'questions'> &
  Partial<Pick<Finding, 'risk' | 'questions'>>;

/** A rules finding: deterministic, so its confidence is 1 (it is not a probability). */
export function rule(draft: Draft): Finding {
  return { risk: 'medium', questions: [], ...draft, confidence: 1 };
}

/** Keeps the first `max` findings of a kind; the last kept one says how many more there are. */
export function capped(findings: Finding[], max = PER_KIND): Finding[] {
  if (findings.length <= max) return findings;
  const kept = findings.slice(0, max);
  const last = kept[max - 1]!;
  const rest = findings.length - max;
  kept[max - 1] = {
    ...last,
    description: `${last.description.replace(/\.$/, '')} (and ${rest} more like it in this section).`,
  };
  return kept;
}

// ---------------------------------------------------------------------------------------------
// Placeholders

const PLACEHOLDER =
  /\b(?:TBD|TBC|TBA|TODO|FIXME|XXX+)\b|\[(?:insert|add|enter|name|date|owner|tbd|tbc|placeholder|details?|link|reference|amount|number)\b[^\]]{0,60}\]|<(?:insert|add|enter)\b[^>]{0,60}>|\?{3,}|\blorem ipsum\b|\bto be (?:determined|confirmed)\b/giu;

/** Case matters for the short markers: "todo" in "a todo app" is a word, "TODO" is a marker. */
const SHOUTED = /^(?:tbd|tbc|tba|todo|fixme|x+)$/i;

export function placeholders(cells: Cell[]): Finding[] {
  const found: Finding[] = [];
  for (const cell of cells) {
    for (const m of cell.text.matchAll(PLACEHOLDER)) {
      if (SHOUTED.test(m[0]) && m[0] !== m[0].toUpperCase()) continue;
      found.push(
        rule({
          type: 'important',
          category: 'Placeholder',
          description: `${q(m[0])} is a placeholder: this part of the document is not written yet.`,
          suggestion:
            'Write the missing content, or remove the placeholder and say plainly what is still unknown.',
          questions: ['What goes here?'],
          refs: [REFS.structure],
          quote: m[0],
        }),
      );
    }
  }
  return capped(found);
}

// ---------------------------------------------------------------------------------------------
// Actions without an owner or a due date

/** A heading that is (nearly) only "Actions", "Recommendations", "Next steps"...: its lines are actions. */
const ACTION_SECTION =
  /^\s*(?:[\dA-Za-z]{1,3}[.)]\s*)*(?:(?:agreed|corrective|remedial|follow[- ]up|open|key|proposed|recommended)\s+)?(?:actions?|action items?|action plan|recommendations?|next steps?|follow[- ]ups?|remediation(?: plan)?|to-?dos?|open items?|tasks?)(?:\s+(?:and|&)\s+(?:owners?|recommendations?|next steps?|actions?))?\s*:?\s*$/i;
/** An action is a line, not an explanatory paragraph. */
const ACTION_MAX_WORDS = 40;
const ACTION_LINE =
  /^\s*(?:(?:\d+[.)]|[-•*])\s*)?(?:action(?: item)?|recommendation|next step|follow[- ]up)\s*(?:\d+\s*)?[:.–-]\s*\S/i;
/** A line of an action list that is an introduction or a heading, not an action. */
const NOT_AN_ACTION =
  /:\s*$|^(?:the|this|these|those|it|in|on|at|for|all|each|following|below|after|before|as|if|when|there)\b/i;
const OWNER_WORDS =
  /\b(?:owner|owned by|owners?:|responsible|assignee|assigned to|accountable|lead|led by|team|group|department|dept|committee|board|manager|officer|director|engineer|administrator|vendor|contractor|supplier|we|our|i)\b/i;
/** "Alice to rotate", "— Alice, by May", "(Alice)", "Owner: Alice", "assigned to Alice", "@alice". */
const NAMED_OWNER = [
  /^\s*(?:\d+[.)]\s*)?(?<name>\p{Lu}\p{Ll}+)(?:\s\p{Lu}\p{Ll}+)?\s+(?:to|will|shall|must)\s/u,
  /[—–]\s*(?<name>\p{Lu}\p{Ll}+)(?:\s\p{Lu}\p{Ll}+)?\s*(?:[,.;)]|$)/u,
  /\s-\s(?<name>\p{Lu}\p{Ll}+)(?:\s\p{Lu}\p{Ll}+)?\s*(?:[,.;)]|$)/u,
  /\(\s*(?<name>\p{Lu}[\p{L}.]+)[\p{L}. ]{0,30}(?:[,;][^)]*)?\)/u,
  /\b(?:by|to|with)\s+(?<name>\p{Lu}\p{Ll}+)\s+(?:by|before|on|in)\b/u,
  /@(?<name>\w+)/u,
];
const DUE =
  /\b(?:due|deadline|by (?:the )?(?:end of|eod|eow|eom|monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|next)|within \d+|within (?:a|one|two|three|four|six) (?:day|week|month)s?|(?:next|this) (?:week|month|quarter|sprint|release)|q[1-4]|h[12]|eod|eow|eom|eoq|eoy|week \d+|sprint \d+|immediately|ongoing|asap)\b/i;
const WEEKDAY_OR_MONTH = new Set(
  list(
    'monday, tuesday, wednesday, thursday, friday, saturday, sunday, january, february, march, april, may, june, july, august, september, october, november, december',
  ),
);

const hasDate = (text: string): boolean => datesIn(text).length > 0 || DUE.test(text);

function hasOwner(text: string): boolean {
  for (const pattern of NAMED_OWNER) {
    const name = pattern.exec(text)?.groups?.name?.toLowerCase();
    if (name && !WEEKDAY_OR_MONTH.has(name)) return true;
  }
  return OWNER_WORDS.test(text);
}

/** A short cell after an action (a table's owner or date column, flattened into lines). */
const isShort = (cell: Cell): boolean => wordsOf(cell.text).length <= 4;

export function actions(section: DocumentSection, cells: Cell[]): Finding[] {
  const listSection = ACTION_SECTION.test(section.title);
  const found: Finding[] = [];
  cells.forEach((cell, i) => {
    const text = cell.text.trim();
    const words = wordsOf(text).length;
    const marked = ACTION_LINE.test(text);
    if (!marked && !(listSection && words >= 3 && words <= ACTION_MAX_WORDS && !NOT_AN_ACTION.test(text)))
      return;
    // An action's owner and date may sit in the cells that follow it (a flattened table row).
    let context = text;
    for (let j = i + 1; j < Math.min(cells.length, i + 3) && isShort(cells[j]!); j++)
      context += ` ${cells[j]!.text}`;
    const owner = hasOwner(context) || cellsLookLikeOwners(cells, i);
    const due = hasDate(context);
    if (owner && due) return;
    const what = !owner && !due ? 'no owner and no due date' : !owner ? 'no owner' : 'no due date';
    found.push(
      rule({
        type: 'important',
        category: owner ? 'Action without due date' : 'Action without owner',
        description: `This action has ${what}: ${
          !owner && !due
            ? 'nobody is named to do it, and no date says when'
            : !owner
              ? 'nobody is named to do it'
              : 'no date says when it is due'
        }.`,
        suggestion: `Give it ${!owner && !due ? 'an owner and a due date' : !owner ? 'an owner' : 'a due date'}.`,
        questions: [!owner ? 'Who owns this action?' : 'When is it due?'],
        refs: [REFS.actions],
        quote: text.length > 200 ? text.slice(0, wordsOf(text)[Math.min(11, words - 1)]!.end) : text,
      }),
    );
  });
  return capped(found);
}

/** In a flattened owner column the next short cell is a name ("Alice", "Platform team"). */
function cellsLookLikeOwners(cells: Cell[], i: number): boolean {
  const next = cells[i + 1];
  return (
    !!next &&
    isShort(next) &&
    /^\p{Lu}\p{Ll}+(?:\s\p{Lu}?\p{Ll}+)?$/u.test(next.text.trim()) &&
    !hasDate(next.text)
  );
}

// ---------------------------------------------------------------------------------------------
// Timeline order

interface Entry {
  cell: Cell;
  text: string;
  value: number;
}

/** Lines starting with a date or a time, read in order; a time alone inherits the last date. */
function entries(cells: Cell[]): Entry[] {
  const out: Entry[] = [];
  let day: number | undefined;
  let year = 0;
  let last: number | undefined;
  for (const cell of cells) {
    const lead = cell.text.length - cell.text.trimStart().length;
    const date = dateAt(cell.text, lead, year);
    if (date?.hasDay) {
      if (date.hasYear) year = yearOf(date.value);
      const midnight = date.value - (date.value % (24 * 60));
      day = midnight;
      out.push({ cell, text: date.text, value: date.value });
      last = date.value;
      continue;
    }
    const time = timeAt(cell.text, lead);
    if (time && day !== undefined) {
      let value = day + time.minutes;
      // Past midnight: 23:50 then 00:10 is the next day.
      if (last !== undefined && value < last && last - value > 18 * 60) value += 24 * 60;
      if (value >= day + 24 * 60) day += 24 * 60;
      out.push({ cell, text: time.text, value });
      last = value;
    }
  }
  return out;
}

/** A section whose title says it tells events in order. */
const CHRONOLOGY =
  /\b(time\s?line|chronolog\w*|sequence of events|order of events|course of events|incident log|history of events)\b/i;
/** What a sentence of a narrated timeline may start with before its date ("On 3 May 2024, ..."). */
const NARRATED_LEAD = /^(?:(?:on|at|by|from|since|then,?|later,?)\s+(?:the\s+)?)?/i;

/** The sentences of a narrated timeline as lines of their own, each starting where its date may. */
function narrated(cells: Cell[]): Cell[] {
  return cells.flatMap((cell) =>
    splitSentences(cell.text).map((sentence) => {
      const lead = NARRATED_LEAD.exec(sentence.text)?.[0].length ?? 0;
      return { ...cell, text: sentence.text.slice(lead) };
    }),
  );
}

/**
 * Dates that run against the timeline's own direction (most timelines run forward; changelogs
 * back). A timeline is lines that start with a date or a time; in a section titled as one
 * ("Timeline", "Chronology", "Sequence of events") its sentences count too, and two are enough.
 */
export function timeline(cells: Cell[], title = ''): Finding[] {
  const titled = CHRONOLOGY.test(title);
  let list = entries(cells);
  if (titled && list.length < 2) list = entries(narrated(cells));
  if (list.length < (titled ? 2 : 3)) return [];
  let forward = 0;
  let backward = 0;
  for (let i = 1; i < list.length; i++) {
    if (list[i]!.value > list[i - 1]!.value) forward++;
    else if (list[i]!.value < list[i - 1]!.value) backward++;
  }
  // Too few dates to tell a direction: a section that calls itself a timeline runs forward.
  const ascending = forward >= backward || (titled && list.length < 3);
  const found: Finding[] = [];
  for (let i = 1; i < list.length; i++) {
    const [prev, entry] = [list[i - 1]!, list[i]!];
    const wrong = ascending ? entry.value < prev.value : entry.value > prev.value;
    if (!wrong) continue;
    found.push(
      rule({
        type: 'important',
        category: 'Timeline order',
        description: `${q(entry.text)} comes after ${q(prev.text)} in the timeline but is ${ascending ? 'earlier' : 'later'}: the events are out of order, or a date is wrong.`,
        suggestion: 'Put the events in order, or correct the date.',
        questions: ['Which date is right?'],
        refs: [REFS.timeline],
        quote: entry.text,
      }),
    );
  }
  return capped(found);
}

// ---------------------------------------------------------------------------------------------
// Words broken by a hyphen and a space ("mea- sured"), left from a line break

const BROKEN = /(?<![\p{L}-])(\p{L}\p{Ll}+)- (\p{Ll}{2,})(?![\p{L}-])/gu;
/** "pre- and post-", "short- or long-term": a suspended hyphen, not a broken word. */
const SUSPENDED = new Set(['and', 'or', 'to', 'nor', 'und', 'bis', 'et', 'ou', 'y', 'o']);
/** First halves that are words on their own: the joined form may need its hyphen ("well-known"). */
const WHOLE_WORDS = new Set(
  list(
    'well, long, short, high, low, self, non, cross, full, half, part, multi, re, co, pre, post, anti, sub, ' +
      'over, under, top, best, low, user, time, real, open, two, three, four, one, first, second, third, ' +
      'left, right, data, end, side, world, life, state, decision, risk, cost, rule, client, server',
  ),
);

export function brokenWords(cells: Cell[]): Finding[] {
  const found: Finding[] = [];
  for (const cell of cells) {
    for (const m of cell.text.matchAll(BROKEN)) {
      if (SUSPENDED.has(m[2]!)) continue;
      const joined = `${m[1]}${m[2]}`;
      const sure = !WHOLE_WORDS.has(m[1]!.toLowerCase());
      found.push(
        rule({
          type: 'suggestion',
          category: 'Broken word',
          description: `${q(m[0])} is one word broken by a hyphen and a space (left from a line break)${sure ? `: ${q(joined)}` : ''}.`,
          suggestion: sure
            ? `Write ${q(joined)}.`
            : `Join it: ${q(joined)}, or ${q(`${m[1]}-${m[2]}`)} if it is a compound.`,
          refs: [REFS.clarity],
          risk: 'low',
          quote: m[0],
          ...(sure ? { replacement: joined } : {}),
        }),
      );
    }
  }
  return capped(found);
}

// ---------------------------------------------------------------------------------------------
// Empty or near-empty sections

/** Below this many words a section says next to nothing. */
const NEAR_EMPTY_WORDS = 6;
const NEAR_EMPTY_LETTERS = 25;
const NOTHING_APPLIES = /^(?:none|n\/?a|nil|not applicable|no exceptions?|nothing to report)\.?$/i;

/** A heading's numbering: its style ("1.", "(a)", "A.", "IV.", "第一") and depth ("2.1" is 2). */
function numbering(title: string): { style: string; depth: number; number: string } | undefined {
  const t = title.trim();
  const dotted = /^((?:\d+\.)*\d+)[.)、]?(?=\s|\p{L}|$)/u.exec(t);
  if (dotted) return { style: 'arabic', depth: dotted[1]!.split('.').length, number: dotted[1]! };
  const bracketed = /^[(（]\s*(\d+|\p{L})\s*[)）]/u.exec(t);
  if (bracketed) return { style: /\d/.test(bracketed[1]!) ? '(1)' : '(a)', depth: 1, number: bracketed[1]! };
  const roman = /^([IVXLC]+)[.)]\s/.exec(t);
  if (roman) return { style: 'roman', depth: 1, number: roman[1]! };
  const letter = /^(\p{L})[.)]\s/u.exec(t);
  if (letter) return { style: /\p{Lu}/u.test(letter[1]!) ? 'A.' : 'a.', depth: 1, number: letter[1]! };
  const part = /^(chapter|part|section|article|annex|appendix|title|book)\s+([\dIVXLC]+|[A-Z])\b/i.exec(t);
  if (part) return { style: part[1]!.toLowerCase(), depth: 0, number: part[2]! };
  const chinese = /^第[一二三四五六七八九十百\d]+[章节部分篇条]/u.exec(t);
  if (chinese) return { style: 'chinese', depth: 1, number: chinese[0] };
  return undefined;
}

/** The next heading is a sub-heading of this one: "2." then "2.1", or "B." then "1.". */
function introducesSubsections(title: string, next: string | undefined): boolean {
  if (next === undefined) return false;
  const mine = numbering(title);
  const theirs = numbering(next);
  if (!mine || !theirs) return false;
  if (mine.style === 'arabic' && theirs.style === 'arabic')
    return theirs.depth > mine.depth && theirs.number.startsWith(`${mine.number}.`);
  return mine.style !== theirs.style;
}

/**
 * A section with no text, or a few words, under its heading. A heading that only introduces its
 * sub-sections ("2. Background" followed by "2.1 ...") is not empty.
 */
export function emptySection(section: DocumentSection, sections: DocumentSection[]): Finding[] {
  if (sections.length < 2) return [];
  const body = bodyCells(section);
  const words = body.reduce((n, c) => n + wordsOf(c.text).length, 0);
  // Chinese or Japanese has no spaces: a "word" there can be a whole sentence, so count letters too.
  const letters = body.reduce((n, c) => n + (c.text.match(/\p{L}/gu)?.length ?? 0), 0);
  if (words >= NEAR_EMPTY_WORDS || letters >= NEAR_EMPTY_LETTERS) return [];
  // "None", "N/A": the section answers, deliberately, that nothing applies.
  if (body.length === 1 && NOTHING_APPLIES.test(body[0]!.text.trim())) return [];
  const index = sections.findIndex((s) => s.id === section.id);
  const next = sections[index + 1];
  if (words === 0 && introducesSubsections(section.title, next?.title)) return [];
  // The first section with nothing under its heading is the document's title page.
  if (words === 0 && index === 0) return [];
  // An empty section's only text is its heading: that is what the finding marks.
  const quote = words > 0 ? body[0]?.text.trim() : cellsOf(section.text)[0]?.text.trim();
  return [
    rule({
      type: 'important',
      category: 'Empty section',
      description:
        words === 0
          ? `The section ${q(section.title)} has a heading and nothing under it.`
          : `The section ${q(section.title)} says next to nothing: ${
              letters > words * 12 ? `${letters} characters` : `${words} word${words === 1 ? '' : 's'}`
            } under its heading.`,
      suggestion: 'Write what this section should cover, or remove the heading if nothing belongs here.',
      questions: ['What should this section say?'],
      refs: [REFS.structure],
      ...(quote ? { quote } : {}),
    }),
  ];
}
