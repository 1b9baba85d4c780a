/**
 * Puts review items back into the original Word document as real Word comments: a
 * `w:commentRangeStart`/`w:commentRangeEnd` pair around the item's quote (runs are split so the
 * range covers exactly the quoted text) followed by a `w:commentReference` run, the comment itself
 * in word/comments.xml (created, or extended after the comments already there), and the
 * relationship and content type when missing. Only the main document part, comments.xml, the
 * main part's relationships and [Content_Types].xml change; every other part is copied unchanged.
 */
import { type Unzipped, unzipSync, zipSync } from 'fflate';
import { Parser } from 'htmlparser2';
import {
  type CharRef,
  collapse,
  decodeXml,
  dirOf,
  findSections,
  mainPartPath,
  parseDocumentXml,
  parseStyleNames,
  prefixFor,
  relationshipTarget,
  relsOf,
  type SectionAnchor,
  WORD_NS,
  WORD_STRICT_NS,
  type WordDocumentXml,
  type WordParagraph,
} from './anchors.ts';

export interface ExportComment {
  sectionTitle: string;
  sectionIndex: number;
  /** Verbatim text of one paragraph or table cell, compared with whitespace collapsed. */
  quote?: string;
  author: string;
  initials?: string;
  /** ISO 8601. */
  date: string;
  /** The comment; newlines start new paragraphs. */
  text: string;
}

export interface AddCommentsOptions {
  /** Section starts kept from upload time (see `anchorSections`); found again from the XML if absent. */
  anchors?: SectionAnchor[];
}

export interface CommentPlacement {
  id: number;
  /** `quote`: around the quote; `section`: the section's first paragraph; `document`: the first one. */
  at: 'quote' | 'section' | 'document';
  paragraph: number;
}

const COMMENTS_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml';
const REL_TRANSITIONAL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const REL_STRICT = 'http://purl.oclc.org/ooxml/officeDocument/relationships';
const RELS_NS = 'http://schemas.openxmlformats.org/package/2006/relationships';

// XML 1.0 cannot carry these characters at all, escaped or not.
const INVALID_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export const escapeXml = (value: string): string =>
  value
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

/** Up to three initials of a name ("Ada Lovelace" -> "AL"). */
export function initialsOf(name: string): string {
  const words = collapse(name).split(' ').filter(Boolean);
  const letters = words.map((word) => [...word][0] ?? '').join('');
  return [...letters].slice(0, 3).join('').toUpperCase() || '?';
}

/** Word wants an xsd:dateTime without fractions; anything unparsable becomes now. */
function wordDate(value: string): string {
  const time = Date.parse(value);
  return new Date(Number.isNaN(time) ? Date.now() : time).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------
// Edits on the raw XML, applied back to front so offsets stay valid.

interface Slot {
  /** Closes the run (and text) the cut is in; '' when the cut is between runs. */
  before: string;
  after: string;
  ends: string[];
  starts: string[];
}

class Edits {
  private readonly slots = new Map<number, Slot>();
  private readonly inserts = new Map<number, { end: number; text: string }>();
  private readonly selfClosing = new Map<number, { paragraph: WordParagraph; slot: Slot }>();

  slot(position: number, before = '', after = ''): Slot {
    let slot = this.slots.get(position);
    if (!slot) {
      slot = { before, after, ends: [], starts: [] };
      this.slots.set(position, slot);
    } else if (slot.before !== before || slot.after !== after) {
      throw new Error(`conflicting cuts at offset ${position}`);
    }
    return slot;
  }

  /** A slot inside a self-closing `<w:p/>`, which becomes `<w:p>...</w:p>`. */
  emptyParagraph(paragraph: WordParagraph): Slot {
    let entry = this.selfClosing.get(paragraph.start);
    if (!entry) {
      entry = { paragraph, slot: { before: '', after: '', ends: [], starts: [] } };
      this.selfClosing.set(paragraph.start, entry);
    }
    return entry.slot;
  }

  /** Replaces `[start, end)` (an insertion when equal); one such edit per start. */
  replace(start: number, end: number, text: string): void {
    this.inserts.set(start, { end, text });
  }

  apply(xml: string): string {
    const edits: { start: number; end: number; text: string }[] = [];
    for (const [position, slot] of this.slots) {
      edits.push({
        start: position,
        end: position,
        text: slot.before + slot.ends.join('') + slot.starts.join('') + slot.after,
      });
    }
    for (const [start, { end, text }] of this.inserts) edits.push({ start, end, text });
    for (const { paragraph, slot } of this.selfClosing.values()) {
      const tag = xml.slice(paragraph.start, paragraph.end);
      edits.push({
        start: paragraph.start,
        end: paragraph.end,
        text: `${tag.replace(/\s*\/>$/, '>')}${slot.starts.join('')}${slot.ends.join('')}</${tagName(tag)}>`,
      });
    }
    // In document order; at one offset, an insertion goes before a replacement starting there.
    edits.sort((a, b) => a.start - b.start || a.end - b.end);
    const out: string[] = [];
    let at = 0;
    for (const edit of edits) {
      if (edit.start < at) throw new Error(`overlapping edits at offset ${edit.start}`);
      out.push(xml.slice(at, edit.start), edit.text);
      at = edit.end;
    }
    out.push(xml.slice(at));
    return out.join('');
  }
}

// ---------------------------------------------------------------------------------------------
// Finding quotes

interface Match {
  paragraph: WordParagraph;
  first: CharRef;
  last: CharRef;
}

/** The paragraph's text with whitespace collapsed, and for each kept character its index in `chars`. */
function collapsed(paragraph: WordParagraph): { text: string; map: number[] } {
  let text = '';
  const map: number[] = [];
  for (let i = 0; i < paragraph.text.length; i += 1) {
    const ch = paragraph.text[i]!;
    if (/\s/.test(ch)) {
      if (text.length > 0 && !text.endsWith(' ')) {
        text += ' ';
        map.push(i);
      }
    } else {
      text += ch;
      map.push(i);
    }
  }
  if (text.endsWith(' ')) {
    text = text.slice(0, -1);
    map.pop();
  }
  return { text, map };
}

type Views = Map<WordParagraph, { text: string; map: number[] }>;

function view(paragraph: WordParagraph, views: Views): { text: string; map: number[] } {
  let found = views.get(paragraph);
  if (!found) {
    found = collapsed(paragraph);
    views.set(paragraph, found);
  }
  return found;
}

/** The first paragraph containing `needle` (collapsed, non-empty). */
function search(paragraphs: WordParagraph[], needle: string, views: Views): Match | undefined {
  for (const paragraph of paragraphs) {
    if (paragraph.chars.length < needle.length) continue;
    const { text, map } = view(paragraph, views);
    const at = text.indexOf(needle);
    if (at < 0) continue;
    const first = paragraph.chars[map[at]!];
    const last = paragraph.chars[map[at + needle.length - 1]!];
    if (first && last) return { paragraph, first, last };
  }
  return undefined;
}

/**
 * Where a quote is: the whole quote in its section, then anywhere; then its longest line or table
 * cell (a quote spanning cells or lines); then, within the section, its longest prefix found (at
 * least 8 characters and a quarter of the quote: mammoth's text runs nested list items together).
 */
function findQuote(
  quote: string,
  section: WordParagraph[],
  all: WordParagraph[],
  views: Views,
): Match | undefined {
  const whole = collapse(quote);
  if (!whole) return undefined;
  const parts = quote
    .split(/[\t\n\r]+/)
    .map(collapse)
    .filter((part) => part.length >= 12 && part !== whole)
    .sort((a, b) => b.length - a.length);
  for (const needle of [whole, ...parts]) {
    const match = search(section, needle, views) ?? search(all, needle, views);
    if (match) return match;
  }
  const shortest = Math.max(8, Math.ceil(whole.length / 4));
  if (whole.length <= shortest) return undefined;
  let low = shortest; // invariant: prefixes longer than `high` are not found
  let high = whole.length - 1;
  let best: Match | undefined;
  while (low <= high) {
    const length = Math.floor((low + high) / 2);
    const match = search(section, whole.slice(0, length).trimEnd(), views);
    if (match) {
      best = match;
      low = length + 1;
    } else {
      high = length - 1;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Cutting runs

/** Raw offset inside a `w:t` for a character offset, or undefined when it falls inside an entity. */
function rawOffset(ref: CharRef, offset: number): number | undefined {
  let seen = 0;
  for (const piece of ref.child.pieces) {
    if (offset === seen) return piece.start;
    if (offset < seen + piece.text.length) {
      // Entities and character references decode to fewer characters than they take.
      return piece.end - piece.start === piece.text.length ? piece.start + (offset - seen) : undefined;
    }
    seen += piece.text.length;
  }
  return offset === seen ? (ref.child.pieces.at(-1)?.end ?? ref.child.openEnd) : undefined;
}

interface Cut {
  position: number;
  before: string;
  after: string;
  /** A `w:t` open tag that must now keep its spaces: its range and the tag to put there. */
  preserve?: { start: number; end: number; tag: string };
}

const tagName = (tag: string): string => /^<([^\s/>]+)/.exec(tag)?.[1] ?? '';

/**
 * Where to cut so a marker sits before (`side: 'before'`) or after a character: between runs when
 * the character starts or ends its run, else by closing and reopening the run (same properties).
 */
function cutAt(xml: string, ref: CharRef, side: 'before' | 'after'): Cut {
  const { child } = ref;
  const { run } = child;
  const reopenRun = run.openTag.replace(/\s*\/>$/, '>') + run.rPr;
  const closeRun = `</${tagName(run.openTag)}>`;
  const offset = side === 'before' ? ref.offset : ref.offset + 1;
  const atStart = child.kind !== 't' ? side === 'before' : offset === 0;
  const atEnd = child.kind !== 't' ? side === 'after' : offset >= child.text.length;

  if (atStart) {
    if (child.childIndex === 0) return { position: run.start, before: '', after: '' };
    return { position: child.start, before: closeRun, after: reopenRun };
  }
  if (atEnd) {
    if (child.childIndex === run.contentCount - 1) return { position: run.end, before: '', after: '' };
    return { position: child.end, before: closeRun, after: reopenRun };
  }
  const position = rawOffset(ref, offset);
  if (position === undefined) {
    // Inside a character reference: cannot happen for whole characters, but stay safe.
    return side === 'before'
      ? { position: child.start, before: closeRun, after: reopenRun }
      : { position: child.end, before: closeRun, after: reopenRun };
  }
  const openTag = xml.slice(child.start, child.openEnd);
  const textTag = tagName(openTag);
  const cut: Cut = {
    position,
    before: `</${textTag}>${closeRun}`,
    after: `${reopenRun}<${textTag} xml:space="preserve">`,
  };
  if (!child.preserve) {
    const tag = /\sxml:space\s*=\s*["'][^"']*["']/.test(openTag)
      ? openTag.replace(/(\sxml:space\s*=\s*)["'][^"']*["']/, '$1"preserve"')
      : openTag.replace(/\s*>$/, ' xml:space="preserve">');
    cut.preserve = { start: child.start, end: child.openEnd, tag };
  }
  return cut;
}

// ---------------------------------------------------------------------------------------------
// Package parts

function parseRoot(xml: string): {
  attribs: Record<string, string>;
  name: string;
  openEnd: number;
  closeStart: number;
  selfClosing: boolean;
} {
  let attribs: Record<string, string> = {};
  let name = '';
  let openEnd = -1;
  let openStart = -1;
  let closeStart = -1;
  let depth = 0;
  const parser = new Parser(
    {
      onopentag(tag, attrs) {
        if (depth === 0) {
          name = tag;
          attribs = attrs;
          openStart = parser.startIndex;
          openEnd = parser.endIndex;
        }
        depth += 1;
      },
      onclosetag() {
        depth -= 1;
        if (depth === 0) closeStart = parser.startIndex;
      },
    },
    { xmlMode: true },
  );
  parser.write(xml);
  parser.end();
  if (openEnd < 0) throw new Error('empty XML part');
  return { attribs, name, openEnd, closeStart, selfClosing: closeStart === openStart };
}

/** Inserts `content` as the last children of the root element. */
function appendToRoot(xml: string, content: string): string {
  const root = parseRoot(xml);
  if (root.selfClosing) {
    const open = xml.slice(0, root.openEnd + 1).replace(/\s*\/>$/, '>');
    return `${open}${content}</${root.name}>${xml.slice(root.openEnd + 1)}`;
  }
  return xml.slice(0, root.closeStart) + content + xml.slice(root.closeStart);
}

const encode = (xml: string): Uint8Array =>
  new TextEncoder().encode(xml.replace(/^(<\?xml[^>]*encoding=["'])UTF-16(["'])/i, '$1UTF-8$2'));

function maxCommentId(xml: string): number {
  let max = -1;
  const parser = new Parser(
    {
      onopentag(_name, attribs) {
        for (const [key, value] of Object.entries(attribs)) {
          if ((key === 'w:id' || key.endsWith(':id')) && /^-?\d+$/.test(value))
            max = Math.max(max, Number(value));
        }
      },
    },
    { xmlMode: true },
  );
  parser.write(xml);
  parser.end();
  return max;
}

function commentXml(
  comment: ExportComment,
  id: number,
  q: (local: string) => string,
  styles: Map<string, string>,
): string {
  const attr = (local: string, value: string) => ` ${q(local)}="${escapeXml(value)}"`;
  const lines = comment.text.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
  const pStyle = styles.has('CommentText')
    ? `<${q('pPr')}><${q('pStyle')}${attr('val', 'CommentText')}/></${q('pPr')}>`
    : '';
  const rStyle = styles.has('CommentReference')
    ? `<${q('rPr')}><${q('rStyle')}${attr('val', 'CommentReference')}/></${q('rPr')}>`
    : '';
  const paragraphs = lines.map((line, i) => {
    const mark = i === 0 ? `<${q('r')}>${rStyle}<${q('annotationRef')}/></${q('r')}>` : '';
    const content = line
      .split('\t')
      .map((part) => (part ? `<${q('t')} xml:space="preserve">${escapeXml(part)}</${q('t')}>` : ''))
      .join(`<${q('tab')}/>`);
    const textRun = content ? `<${q('r')}>${content}</${q('r')}>` : '';
    return `<${q('p')}>${pStyle}${mark}${textRun}</${q('p')}>`;
  });
  const initials = comment.initials?.trim() || initialsOf(comment.author);
  return (
    `<${q('comment')}${attr('id', String(id))}${attr('author', comment.author.trim() || 'Prism')}` +
    `${attr('date', wordDate(comment.date))}${attr('initials', initials)}>${paragraphs.join('')}</${q('comment')}>`
  );
}

// ---------------------------------------------------------------------------------------------

/** `addComments`, also telling where each comment went (in input order). */
export function addCommentsWithPlacements(
  original: Uint8Array,
  comments: ExportComment[],
  options: AddCommentsOptions = {},
): { docx: Uint8Array; placements: CommentPlacement[] } {
  if (comments.length === 0) return { docx: original, placements: [] };
  const files: Unzipped = unzipSync(original);

  const mainPath = mainPartPath(files);
  const base = dirOf(mainPath);
  const doc: WordDocumentXml = parseDocumentXml(decodeXml(files[mainPath]!));
  const relsPath = relsOf(mainPath);
  let rels = files[relsPath] ? decodeXml(files[relsPath]) : undefined;
  const stylesPath = relationshipTarget(rels, 'styles', base)?.path ?? `${base}styles.xml`;
  const styles = parseStyleNames(files[stylesPath] ? decodeXml(files[stylesPath]) : undefined);

  const strict = doc.namespace === WORD_STRICT_NS;
  const commentsRel = relationshipTarget(rels, 'comments', base);
  const commentsPath = commentsRel?.path ?? `${base}comments.xml`;
  const existing = files[commentsPath] ? decodeXml(files[commentsPath]) : undefined;

  // Markup in the document uses the document's own prefix for WordprocessingML.
  let prefix = doc.prefix;
  const edits = new Edits();
  if (prefix === '') {
    // Default-namespace document: declare a prefix on the root for the attributes we add.
    prefix = 'pw';
    edits.replace(doc.rootOpenEnd, doc.rootOpenEnd, ` xmlns:pw="${doc.namespace}"`);
  }
  const w = (local: string) => `${prefix}:${local}`;

  let nextId = Math.max(doc.maxId, existing ? maxCommentId(existing) : -1) + 1;
  const anchors = options.anchors?.length ? options.anchors : findSections(doc, styles);
  const paragraphs = doc.paragraphs;
  const firstText = paragraphs.find((p) => collapse(p.text) !== '') ?? paragraphs[0];
  if (!firstText) throw new Error('the document has no paragraph to comment on');
  const views: Views = new Map();

  const placements: CommentPlacement[] = [];
  const newComments: { comment: ExportComment; id: number }[] = [];
  for (const comment of comments) {
    const id = nextId;
    nextId += 1;
    const startMark = `<${w('commentRangeStart')} ${w('id')}="${id}"/>`;
    const endMark =
      `<${w('commentRangeEnd')} ${w('id')}="${id}"/>` +
      `<${w('r')}><${w('commentReference')} ${w('id')}="${id}"/></${w('r')}>`;

    const anchor =
      anchors.find((a) => a.index === comment.sectionIndex && a.title === comment.sectionTitle) ??
      anchors.find((a) => a.title === comment.sectionTitle) ??
      anchors.find((a) => a.index === comment.sectionIndex);
    const sectionParagraphs = anchor
      ? paragraphs.slice(Math.max(0, anchor.paragraph), Math.max(anchor.paragraph + 1, anchor.end))
      : [];

    const match = comment.quote ? findQuote(comment.quote, sectionParagraphs, paragraphs, views) : undefined;
    if (match) {
      const start = cutAt(doc.xml, match.first, 'before');
      const end = cutAt(doc.xml, match.last, 'after');
      edits.slot(start.position, start.before, start.after).starts.push(startMark);
      edits.slot(end.position, end.before, end.after).ends.push(endMark);
      for (const cut of [start, end]) {
        if (cut.preserve) edits.replace(cut.preserve.start, cut.preserve.end, cut.preserve.tag);
      }
      placements.push({ id, at: 'quote', paragraph: match.paragraph.position });
    } else {
      // The section's first paragraph with text (its heading), else the document's first.
      const target = sectionParagraphs.find((p) => collapse(p.text) !== '') ?? sectionParagraphs[0];
      const paragraph = target ?? firstText;
      if (paragraph.selfClosing) {
        const slot = edits.emptyParagraph(paragraph);
        slot.starts.push(startMark);
        slot.ends.push(endMark);
      } else {
        edits.slot(paragraph.contentStart).starts.push(startMark);
        edits.slot(paragraph.closeStart).ends.push(endMark);
      }
      placements.push({ id, at: target ? 'section' : 'document', paragraph: paragraph.position });
    }
    newComments.push({ comment, id });
  }

  const out: Record<string, Uint8Array> = { ...files };
  out[mainPath] = encode(edits.apply(doc.xml));

  // comments.xml: extend the existing part, or create one in the document's namespace.
  if (existing) {
    const root = parseRoot(existing);
    const found = prefixFor(root.attribs, [WORD_NS, WORD_STRICT_NS]);
    let cPrefix = found ?? 'w';
    let declare = '';
    if (!found) {
      cPrefix = 'pw';
      declare = ` xmlns:pw="${doc.namespace}"`;
    }
    const q = (local: string) => `${cPrefix}:${local}`;
    const added = newComments.map(({ comment, id }) => commentXml(comment, id, q, styles)).join('');
    let xml = appendToRoot(existing, added);
    if (declare) xml = xml.slice(0, root.openEnd) + declare + xml.slice(root.openEnd);
    out[commentsPath] = encode(xml);
  } else {
    const q = (local: string) => `w:${local}`;
    out[commentsPath] = encode(
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
        `<w:comments xmlns:w="${doc.namespace}">` +
        newComments.map(({ comment, id }) => commentXml(comment, id, q, styles)).join('') +
        '</w:comments>',
    );
  }

  // The main part's relationship to comments.xml.
  if (!commentsRel) {
    rels ??= `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="${RELS_NS}"></Relationships>`;
    const ids = new Set([...rels.matchAll(/\bId="([^"]*)"/g)].map((m) => m[1]));
    let n = ids.size + 1;
    while (ids.has(`rId${n}`)) n += 1;
    const target = commentsPath.startsWith(base) ? commentsPath.slice(base.length) : `/${commentsPath}`;
    const type = `${strict ? REL_STRICT : REL_TRANSITIONAL}/comments`;
    const root = parseRoot(rels);
    const relPrefix = root.name.includes(':') ? `${root.name.split(':')[0]}:` : '';
    rels = appendToRoot(rels, `<${relPrefix}Relationship Id="rId${n}" Type="${type}" Target="${target}"/>`);
    out[relsPath] = encode(rels);
  }

  // Its content type.
  const typesBytes = files['[Content_Types].xml'];
  if (typesBytes) {
    const types = decodeXml(typesBytes);
    const partName = `/${commentsPath}`.toLowerCase();
    let overridden = false;
    const parser = new Parser(
      {
        onopentag(name, attribs) {
          if (/(^|:)Override$/.test(name) && attribs.PartName?.toLowerCase() === partName) overridden = true;
        },
      },
      { xmlMode: true },
    );
    parser.write(types);
    parser.end();
    if (!overridden) {
      const root = parseRoot(types);
      const typePrefix = root.name.includes(':') ? `${root.name.split(':')[0]}:` : '';
      out['[Content_Types].xml'] = encode(
        appendToRoot(
          types,
          `<${typePrefix}Override PartName="/${commentsPath}" ContentType="${COMMENTS_TYPE}"/>`,
        ),
      );
    }
  }

  return { docx: zipSync(out, { level: 6 }), placements };
}

/**
 * The original document with each comment anchored at its quote (first paragraph or table cell of
 * its section, then of the document, whose text contains it, whitespace collapsed), else at its
 * section's first paragraph. Existing comments are kept; new ids continue after the highest id used.
 */
export function addComments(
  original: Uint8Array,
  comments: ExportComment[],
  options: AddCommentsOptions = {},
): Uint8Array {
  return addCommentsWithPlacements(original, comments, options).docx;
}
