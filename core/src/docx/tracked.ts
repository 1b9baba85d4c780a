/**
 * Suggested rewrites as Word tracked changes: the quoted text becomes a `w:del` (its runs kept with
 * their properties, `w:t` turned into `w:delText`) followed by a `w:ins` of the replacement in the
 * first quoted run's properties, both by the person who accepted the item at the decision time,
 * with the item's comment range around the pair. Runs are cut where the quote starts or ends
 * mid-run (splice.ts). Only a quote found whole in one paragraph, made of plain runs under one
 * parent and outside any existing revision, is rewritten; anything else is left to a comment.
 */
import { Parser } from 'htmlparser2';
import type { WordDocumentXml } from './anchors.ts';
import { cutAt, type Edits, escapeXml, type Match, wordDate } from './splice.ts';

export interface TrackedChange {
  /** Text that stands instead of the quote; tabs and newlines become `w:tab` and `w:br`. */
  replacement: string;
  /** `w:author` of both revisions. */
  author: string;
  /** ISO 8601, `w:date` of both revisions. */
  date: string;
  /** Ids for the `w:del` and the `w:ins`, unused elsewhere in the document. */
  delId: number;
  insId: number;
  /** The comment's range markers and reference run, put around the change. */
  startMark: string;
  endMark: string;
}

/** Raw ranges of elements a change must not be nested in (existing revisions, simple fields). */
export type Containers = { start: number; end: number }[];

const CONTAINERS = new Set(['ins', 'del', 'moveFrom', 'moveTo', 'fldSimple']);
/** Empty elements that may sit between the quoted runs; kept as they are inside the `w:del`. */
const MILESTONES = new Set([
  'proofErr',
  'bookmarkStart',
  'bookmarkEnd',
  'commentRangeStart',
  'commentRangeEnd',
  'permStart',
  'permEnd',
]);
/** Run content a deletion may carry; anything else (fields, drawings, note references) is not rewritten. */
const RUN_CONTENT = new Set([
  'rPr',
  't',
  'tab',
  'br',
  'cr',
  'noBreakHyphen',
  'softHyphen',
  'sym',
  'lastRenderedPageBreak',
]);

const localOf = (prefix: string, name: string): string | undefined =>
  prefix === ''
    ? name.includes(':')
      ? undefined
      : name
    : name.startsWith(`${prefix}:`)
      ? name.slice(prefix.length + 1)
      : undefined;

/** Where the document's revisions and simple fields are, to keep new changes out of them. */
export function revisionContainers(doc: WordDocumentXml): Containers {
  const found: Containers = [];
  const open: { name: string; start: number }[] = [];
  const parser = new Parser(
    {
      onopentag(name) {
        const local = localOf(doc.prefix, name);
        if (local && CONTAINERS.has(local)) open.push({ name, start: parser.startIndex });
      },
      onclosetag(name) {
        const last = open.at(-1);
        if (last?.name !== name) return;
        open.pop();
        // Self-closing marks (`<w:ins .../>` in a w:rPr) contain nothing.
        if (parser.startIndex > last.start) found.push({ start: last.start, end: parser.endIndex + 1 });
      },
    },
    { xmlMode: true },
  );
  parser.write(doc.xml);
  parser.end();
  return found;
}

interface Deleted {
  /** The quoted stretch with every `w:t` turned into `w:delText`. */
  body: string;
  /** Open tag and properties of the first quoted run, for the inserted run. */
  runOpen: string;
  runName: string;
  rPr: string;
}

/**
 * Reads the quoted stretch (already cut at the quote's ends, so it is well-formed): plain runs and
 * milestones under one parent, else undefined.
 */
function readDeleted(segment: string, prefix: string): Deleted | undefined {
  const edits: { start: number; end: number; text: string }[] = [];
  let depth = 0;
  let ok = true;
  let closes = 0;
  let first: { runOpen: string; runName: string; rPr: string } | undefined;
  let rPrStart = -1;
  let runs = 0;
  const parser = new Parser(
    {
      onopentag(name) {
        const local = localOf(prefix, name);
        const start = parser.startIndex;
        const end = parser.endIndex + 1;
        if (depth === 0) {
          if (local === 'r') {
            runs += 1;
            if (!first) first = { runOpen: segment.slice(start, end), runName: name, rPr: '' };
          } else if (!local || !MILESTONES.has(local)) ok = false;
        } else if (depth === 1) {
          if (!local || !RUN_CONTENT.has(local)) ok = false;
          else if (local === 't')
            edits.push({ start, end, text: `<${name.slice(0, -1)}delText xml:space="preserve">` });
          else if (local === 'rPr' && runs === 1) rPrStart = start;
        }
        depth += 1;
      },
      onclosetag(name, implied) {
        depth -= 1;
        if (!implied) closes += 1;
        const local = localOf(prefix, name);
        if (depth === 1 && local === 't' && !implied) {
          edits.push({
            start: parser.startIndex,
            end: parser.endIndex + 1,
            text: `</${name.slice(0, -1)}delText>`,
          });
        }
        if (depth === 1 && local === 'rPr' && rPrStart >= 0 && first) {
          first.rPr = segment.slice(rPrStart, parser.endIndex + 1);
          rPrStart = -1;
        }
      },
      ontext(text) {
        if (depth === 0 && text.trim() !== '') ok = false;
      },
    },
    { xmlMode: true },
  );
  parser.write(segment);
  // An unmatched close tag (the quote leaving a hyperlink, say) is dropped by the parser: count them.
  const unbalanced = depth !== 0 || closes !== (segment.match(/<\//g) ?? []).length;
  parser.end();
  if (!ok || unbalanced || runs === 0 || !first) return undefined;
  edits.sort((a, b) => a.start - b.start);
  let body = '';
  let at = 0;
  for (const edit of edits) {
    body += segment.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  body += segment.slice(at);
  return { body, ...first };
}

const escapeRegExp = (value: string): string => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Run properties for the inserted run: the quoted run's, without its own revision marks. */
function insertedRunProperties(rPr: string, runName: string): string {
  const pre = escapeRegExp(runName.slice(0, -1));
  return rPr
    .replace(new RegExp(`<${pre}rPrChange\\b[\\s\\S]*?</${pre}rPrChange>`, 'g'), '')
    .replace(new RegExp(`<${pre}rPrChange\\b[^>]*/>`, 'g'), '')
    .replace(new RegExp(`<${pre}(?:ins|del|moveFrom|moveTo)\\b[^>]*/>`, 'g'), '');
}

function insertedRun(text: string, deleted: Deleted): string {
  const pre = deleted.runName.slice(0, -1);
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const content = lines
    .map((line) =>
      line
        .split('\t')
        .map((part) => (part ? `<${pre}t xml:space="preserve">${escapeXml(part)}</${pre}t>` : ''))
        .join(`<${pre}tab/>`),
    )
    .join(`<${pre}br/>`);
  const open = deleted.runOpen.replace(/\s*\/>$/, '>');
  return `${open}${insertedRunProperties(deleted.rPr, deleted.runName)}${content}</${deleted.runName}>`;
}

/**
 * Plans `change` at `match` as a `w:del` of the quote and a `w:ins` of the replacement. Returns
 * false, planning nothing, when the quoted XML is not plain runs under one parent, sits in an
 * existing revision or field, or overlaps a change already planned.
 */
export function planTrackedChange(
  edits: Edits,
  doc: WordDocumentXml,
  match: Match,
  change: TrackedChange,
  containers: Containers,
  w: (local: string) => string,
): boolean {
  const start = cutAt(doc.xml, match.first, 'before');
  const end = cutAt(doc.xml, match.last, 'after');
  if (end.position <= start.position) return false;
  if (edits.overlapsRewrite(start.position, end.position)) return false;
  if (containers.some((c) => c.start < start.position && end.position <= c.end)) return false;
  const deleted = readDeleted(
    start.after + doc.xml.slice(start.position, end.position) + end.before,
    doc.prefix,
  );
  if (!deleted) return false;

  const revision = (kind: 'del' | 'ins', id: number) =>
    `<${w(kind)} ${w('id')}="${id}" ${w('author')}="${escapeXml(change.author.trim() || 'Prism')}" ${w('date')}="${wordDate(change.date)}">`;
  const inserted = change.replacement
    ? `${revision('ins', change.insId)}${insertedRun(change.replacement, deleted)}</${w('ins')}>`
    : '';
  edits.rewrite({
    start: start.position,
    end: end.position,
    head: start.before,
    body: `${revision('del', change.delId)}${deleted.body}</${w('del')}>${inserted}`,
    tail: end.after,
    starts: [change.startMark],
    ends: [change.endMark],
  });
  // The text before the quote, now ending its `w:t`, may end in a space that must be kept.
  if (start.preserve) edits.replace(start.preserve.start, start.preserve.end, start.preserve.tag);
  return true;
}
