/**
 * Checks that need the whole document (the analyze request carries it): the same quantity stated
 * with different values in two sections, acronyms the document never defines, and sections the
 * guidelines require that the document lacks.
 */
import type { DocumentContext, DocumentSection, Finding } from '../provider.ts';
import { capped, REFS, rule } from './structure.ts';
import {
  andMore,
  bodyCells,
  type Cell,
  cellsOf,
  list,
  listOf,
  normal,
  q,
  STOPWORDS,
  unique,
} from './text.ts';

// ---------------------------------------------------------------------------------------------
// What each check needs from the whole document, computed once per document: a review analyses
// its sections one job at a time, each with the same document, and a 600-section handbook would
// otherwise be scanned 600 times.

interface DocumentFacts {
  quantities: Map<string, Quantity[]>;
  varying: Map<string, Set<string>>;
  defined: Set<string>;
  /** Each acronym's first section. */
  firstUse: Map<string, string>;
}

const FACTS_KEPT = 8;
const facts = new Map<string, DocumentFacts>();

function fingerprint(document: DocumentContext): string {
  let length = 0;
  for (const s of document.sections) length += s.text.length;
  return `${document.reviewId}\u0000${document.sections.length}\u0000${length}\u0000${document.sections.map((s) => s.id).join(',')}`;
}

function factsOf(document: DocumentContext): DocumentFacts {
  const key = fingerprint(document);
  const known = facts.get(key);
  if (known) return known;
  const quantities = new Map<string, Quantity[]>();
  const varyingBySection = new Map<string, Set<string>>();
  const firstUse = new Map<string, string>();
  for (const section of document.sections) {
    const mine = bodyCells(section).flatMap(quantitiesOf);
    quantities.set(section.id, mine);
    varyingBySection.set(section.id, varying(mine));
    for (const a of acronymsOf(section)) if (!firstUse.has(a.acronym)) firstUse.set(a.acronym, section.id);
  }
  const computed = {
    quantities,
    varying: varyingBySection,
    defined: definitions(document.sections),
    firstUse,
  };
  facts.set(key, computed);
  if (facts.size > FACTS_KEPT) facts.delete(facts.keys().next().value!);
  return computed;
}

// ---------------------------------------------------------------------------------------------
// The same quantity, different values

interface Quantity {
  /** What is measured: the words before the number and its unit ("outage lasted|minute"). */
  key: string;
  value: number;
  /** The words as written, from the first context word to the unit. */
  text: string;
  number: string;
}

/** Words that sit between a subject and its number without saying what is counted. */
const FILLER = new Set(
  list(
    'about, approximately, around, nearly, almost, roughly, some, total, only, just, least, most, up, over, under, ' +
      'exactly, estimated, circa, than, less, more, another, further, additional, each, every, per, its, their, ' +
      'within, after, before, from, into, onto, upon, via, since, till, across, among, during, next, last, first',
  ),
);
const TIME_UNITS = new Set(list('second, minute, hour, day, week, month, year, sec, min, hr'));
const SCALE: Record<string, number> = { k: 1e3, thousand: 1e3, m: 1e6, million: 1e6, bn: 1e9, billion: 1e9 };
const NUMBER =
  /(?<![\p{L}\p{N}.,:/-])([$€£]\s?)?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:\s?(k|m|bn|thousand|million|billion)\b)?(\s?%|\s?percent\b|\s+[\p{L}]{3,})?(?![\p{N}]|[.,]\d|:\d|\/\d|-\d)/giu;

const stem = (word: string): string => {
  const w = word.toLowerCase().replace(/’/g, "'");
  return w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w;
};

/** The quantities of one cell whose subject the text names. */
function quantitiesOf(cell: Cell): Quantity[] {
  const out: Quantity[] = [];
  for (const m of cell.text.matchAll(NUMBER)) {
    const [, currency, whole, fraction, scale, unitRaw] = m;
    const unit = unitRaw?.trim().toLowerCase();
    const currencyUnit = currency?.trim();
    if (!unit && !currencyUnit) continue;
    const digits = whole!.replace(/,/g, '');
    const value =
      Number(`${digits}${fraction ? `.${fraction}` : ''}`) * (scale ? (SCALE[scale.toLowerCase()] ?? 1) : 1);
    // A year ("in 2024 customers"), a unit that is a stopword ("5 and"), a month: not a quantity.
    if (!currencyUnit && /^(19|20)\d\d$/.test(digits) && !fraction) continue;
    if (
      unit &&
      unit !== '%' &&
      unit !== 'percent' &&
      (STOPWORDS.has(unit) || /^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)/.test(unit))
    )
      continue;
    const before = cell.text.slice(0, m.index);
    const clause = before.split(/[.;:!?()\n]|,\s/).at(-1) ?? '';
    const context = (clause.match(/[\p{L}][\p{L}'’-]*/gu) ?? [])
      .filter((w) => !STOPWORDS.has(w.toLowerCase()) && !FILLER.has(w.toLowerCase()))
      .slice(-3);
    const unitKey = currencyUnit
      ? `${currencyUnit}${scale ? '' : ''}`
      : unit === 'percent'
        ? '%'
        : stem(unit!);
    const end = m.index + m[0].length;
    const counted =
      unit && !currencyUnit && unit !== '%' && unit !== 'percent' && !TIME_UNITS.has(stem(unit));
    // "the 40 probes", "all 36 probes": a definite set, the same set wherever it is counted.
    const definite = counted ? /\b(?:the|all|our|these|those|total of)\s+$/i.exec(before) : null;
    if (counted) {
      out.push({
        key: `${definite ? 'the' : 'a'}|${unitKey}`,
        value,
        text: cell.text.slice(definite ? m.index - definite[0].length : m.index, end).trim(),
        number: m[0].trim(),
      });
    }
    // Two words at least say what is measured; one ("within 30 days") could be anything.
    if (context.length < 2) continue;
    const key = `${context.map(stem).join(' ')}|${unitKey}`;
    const from = before.lastIndexOf(context[0]!, before.length);
    out.push({ key, value, text: cell.text.slice(from, end).trim(), number: m[0].trim() });
  }
  return out;
}

/** Keys stated with more than one value inside one section: a series ("2023: 40 staff; 2024: 52 staff"). */
function varying(quantities: Quantity[]): Set<string> {
  const values = new Map<string, Set<number>>();
  for (const x of quantities) values.set(x.key, (values.get(x.key) ?? new Set()).add(x.value));
  return new Set([...values].filter(([, v]) => v.size > 1).map(([k]) => k));
}

/**
 * A quantity of this section stated with another value in an earlier section. The finding goes
 * on the later statement, so each disagreement is reported once.
 */
export function inconsistentQuantities(section: DocumentSection, document: DocumentContext): Finding[] {
  const index = document.sections.findIndex((s) => s.id === section.id);
  if (index <= 0) return [];
  const known = factsOf(document);
  const mine = known.quantities.get(section.id) ?? [];
  const skip = known.varying.get(section.id) ?? new Set();
  const found: Finding[] = [];
  const reported = new Set<string>();
  for (const here of mine) {
    // A bare count ("36 probes") is compared only when a definite one ("the 40 probes") names the set.
    if (here.key.startsWith('a|') || skip.has(here.key) || reported.has(here.key)) continue;
    const unit = here.key.startsWith('the|') ? here.key.slice(4) : undefined;
    const same = (key: string): boolean => key === here.key || (unit !== undefined && key === `a|${unit}`);
    for (const earlier of document.sections.slice(0, index)) {
      const theirs = known.quantities.get(earlier.id) ?? [];
      const series = known.varying.get(earlier.id);
      const there = theirs.find((x) => same(x.key) && !series?.has(x.key) && x.value !== here.value);
      if (!there) continue;
      reported.add(here.key);
      found.push(
        rule({
          type: 'important',
          category: 'Inconsistent figures',
          description: `This section says ${q(here.text)}, but ${q(earlier.title)} says ${q(there.text)}: the same quantity has two values.`,
          suggestion: 'Check which figure is right and use it everywhere.',
          questions: ['Which value is correct?'],
          refs: [REFS.consistency],
          quote: here.text,
        }),
      );
      break;
    }
  }
  return capped(found);
}

// ---------------------------------------------------------------------------------------------
// Acronyms never defined

const ACRONYM = /(?<![\p{L}\p{N}_.-])(\p{Lu}{2,5})(s?)(?![\p{L}\p{N}_-]|\.\p{L})/gu;
/** Acronyms every reader knows, and capitals that are not acronyms (Roman numerals, markers). */
const KNOWN = new Set(
  list(
    'OK, TV, PC, PDF, URL, HTML, HTTP, HTTPS, USB, CEO, CFO, CTO, COO, CIO, HR, IT, PR, UK, US, USA, EU, UN, ' +
      'GDP, AM, PM, FAQ, ID, ASAP, FYI, NB, PS, AD, BC, CV, DNA, GPS, VIP, UTC, GMT, ISO, AI, IP, CD, DVD, ' +
      'TBD, TBC, TBA, TODO, FIXME, XXX, NA, N/A, II, III, IV, VI, VII, VIII, IX, XI, XII, XIII, XIV, XV, XX, ' +
      'Q1, Q2, Q3, Q4, H1, H2, MB, GB, TB, KB, CPU, RAM, SMS, NGO, VAT, ATM, WHO, LLC, LTD, PLC, INC, NO, ' +
      'EUR, USD, GBP, JPY, CHF, CAD, AUD, CNY, RUB, INR, MR, MRS, MS, DR, PHD, BA, BSC, MSC, MBA, OECD, UNESCO, ' +
      'XML, JSON, API, SQL, CSS, JS, PNG, JPEG, JPG, GIF, SVG, CSV, ZIP, DOC, DOCX, XLSX, PPTX, UI, UX, OS, ' +
      'WWW, FTP, SSH, DNS, VPN, LAN, WIFI, NFC, LED, LCD, PIN, RSVP, AKA, ETA, CC, BCC',
  ),
);

/** "Service Level Agreement (SLA)", "SLA (service level agreement)", "SLA: ...", "SLA stands for". */
function definitions(sections: DocumentSection[]): Set<string> {
  const defined = new Set<string>();
  for (const section of sections) {
    for (const { text } of cellsOf(section.text)) {
      for (const m of text.matchAll(/[\p{L}][^()]{2,}?\(\s*(\p{Lu}{2,6}\d?)s?\s*\)/gu)) defined.add(m[1]!);
      for (const m of text.matchAll(/\b(\p{Lu}{2,6}\d?)s?\s*\(\s*\p{L}[^)]{3,}\)/gu)) defined.add(m[1]!);
      for (const m of text.matchAll(/\b(\p{Lu}{2,6}\d?)s?\s+(?:stands for|means|is short for|refers to)\b/gu))
        defined.add(m[1]!);
      // A glossary line: the acronym, then a colon, a dash or a tab and its meaning.
      const glossary = /^\s*(\p{Lu}{2,6}\d?)\s*(?:[:=–—-]|\t)\s*\p{L}/u.exec(text);
      if (glossary) defined.add(glossary[1]!);
    }
  }
  return defined;
}

/** A line mostly in capitals is a heading or a shout, not a place where acronyms are used. */
const shouted = (text: string): boolean => {
  const letters = text.match(/\p{L}/gu)?.length ?? 0;
  const capitals = text.match(/\p{Lu}/gu)?.length ?? 0;
  return letters > 0 && capitals / letters > 0.5;
};

function acronymsOf(section: DocumentSection): { acronym: string; quote: string }[] {
  const out: { acronym: string; quote: string }[] = [];
  for (const { text } of bodyCells(section)) {
    if (shouted(text)) continue;
    for (const m of text.matchAll(ACRONYM)) {
      // "YYYY", "XXX": a format or a marker, not an acronym.
      if (/^(\p{Lu})\1+$/u.test(m[1]!)) continue;
      // The job ignores quotes under 3 characters: "EC" is quoted with the word next to it.
      let quote = m[0];
      if (quote.length < 3) {
        const after = /^\s+[\p{L}\p{N}]+/u.exec(text.slice(m.index + m[0].length))?.[0];
        const before = /[\p{L}\p{N}]+\s+$/u.exec(text.slice(0, m.index))?.[0];
        quote = after ? `${m[0]}${after}` : before ? `${before}${m[0]}` : quote;
      }
      // A cell that is only "EC" is a label, not a use to define.
      if (quote.length >= 3) out.push({ acronym: m[1]!, quote });
    }
  }
  return out;
}

/** Acronyms first used in this section that the document never spells out: one finding. */
export function undefinedAcronyms(section: DocumentSection, document: DocumentContext): Finding[] {
  const known = factsOf(document);
  const mine = unique(
    acronymsOf(section).filter(
      (a) =>
        !KNOWN.has(a.acronym) &&
        !known.defined.has(a.acronym) &&
        known.firstUse.get(a.acronym) === section.id,
    ),
    (a) => a.acronym,
  );
  const first = mine[0];
  if (!first) return [];
  const names = mine.map((a) => q(a.acronym));
  return [
    rule({
      type: 'suggestion',
      category: 'Undefined acronym',
      description:
        mine.length === 1
          ? `${names[0]} is used but never defined in the document.`
          : `${andMore(names.slice(0, 8), mine.length)} are used but never defined in the document.`,
      suggestion: `Spell each out at its first use, for example “Full Name (${first.acronym})”, or add a glossary.`,
      questions: [`What does ${first.acronym} stand for?`],
      refs: [REFS.clarity],
      risk: 'low',
      quote: first.quote,
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// Sections the guidelines require

const REQUIRED_LIST =
  /(?:required|mandatory|must[- ]have|compulsory)\s+sections?\s*(?:are|include|:|-)?\s*(.*)|must\s+(?:include|contain|have)\s+(?:the\s+following\s+)?(?:sections?|headings?|parts?)\s*(?:on|for|called|titled|named)?\s*:?\s*(.*)|(?:sections?|headings?)\s+(?:are\s+)?(?:required|mandatory)\s*:?\s*(.*)/i;
const ONE_REQUIRED =
  /\b(?:must|shall|should)\s+(?:include|contain|have)\s+an?\s+["“]?([\p{L}][\p{L} &/-]{2,40}?)["”]?\s+(?:section|heading|chapter)\b/giu;

/** The section names the guidelines require. */
export function requiredSections(guidelines: string): string[] {
  const names: string[] = [];
  const lines = guidelines.split(/\r\n|\r|\n/);
  lines.forEach((line, i) => {
    const m = REQUIRED_LIST.exec(line);
    if (m) {
      const rest = (m[1] ?? m[2] ?? m[3] ?? '').trim();
      if (rest) names.push(...rest.split(/[,;]|\band\b/).map((n) => n.trim()));
      else {
        // The names follow as a list, one a line, until a blank line.
        for (const next of lines.slice(i + 1)) {
          const item = next.replace(/^\s*(?:[-•*]|\d+[.)])\s*/, '').trim();
          if (item === '') break;
          names.push(item);
        }
      }
    }
    for (const one of line.matchAll(ONE_REQUIRED)) names.push(one[1]!);
  });
  return unique(
    names
      .map((n) =>
        n
          .replace(/^(?:an?|the)\s+/i, '')
          .replace(/[.:"“”]+$/, '')
          .trim(),
      )
      .filter((n) => n.length >= 3 && n.length <= 60),
    normal,
  );
}

const content = (text: string): string[] =>
  (normal(text).match(/\p{L}+/gu) ?? []).filter((w) => !STOPWORDS.has(w) && w.length > 1).map(stem);

/** A heading covers a required name when it holds all the name's content words. */
function covers(title: string, name: string): boolean {
  const have = new Set(content(title));
  const need = content(name);
  return need.length > 0 && need.every((w) => have.has(w));
}

/** On the first section only: the guidelines' required sections the document has no heading for. */
export function missingSections(section: DocumentSection, document: DocumentContext): Finding[] {
  if (!document.guidelines || document.sections[0]?.id !== section.id) return [];
  const titles = document.sections.map((s) => s.title);
  const missing = requiredSections(document.guidelines).filter(
    (name) => !titles.some((t) => covers(t, name)),
  );
  return missing.map((name) =>
    rule({
      type: 'important',
      category: 'Missing section',
      description: `The guidelines require a section ${q(name)}, and the document has none${
        titles.length > 0
          ? ` (its sections are ${listOf(titles.slice(0, 6).map(q))}${titles.length > 6 ? '…' : ''})`
          : ''
      }.`,
      suggestion: `Add a section ${q(name)}, or say where the document covers it.`,
      questions: [`Where does the document cover ${name.toLowerCase()}?`],
      refs: [REFS.compliance, REFS.structure],
      risk: 'high',
    }),
  );
}
