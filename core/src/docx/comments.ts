/**
 * Puts review items back into the original Word document as real Word comments: a
 * `w:commentRangeStart`/`w:commentRangeEnd` pair around the item's quote (runs are split so the
 * range covers exactly the quoted text) followed by a `w:commentReference` run, the comment itself
 * in word/comments.xml (created, or extended after the comments already there), and the
 * relationship and content type when missing. Only the main document part, comments.xml, the
 * main part's relationships and [Content_Types].xml change; every other part is copied unchanged.
 * An item with a `replacement` becomes a tracked change at its quote (tracked.ts) when asked for.
 */
import { type Unzipped, unzipSync, zipSync } from 'fflate';
import { Parser } from 'htmlparser2';
import {
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
} from './anchors.ts';
import { cutAt, Edits, escapeXml, exactQuote, findQuote, type Views, wordDate } from './splice.ts';
import { type Containers, planTrackedChange, revisionContainers } from './tracked.ts';

export { escapeXml } from './splice.ts';

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
  /** Text to stand instead of `quote`: a tracked change by `author` at `date` (see `changes`). */
  replacement?: string;
  /** Anchored on the document's first paragraph with text, whatever the section (the checklist summary). */
  atStart?: boolean;
}

export interface AddCommentsOptions {
  /** Section starts kept from upload time (see `anchorSections`); found again from the XML if absent. */
  anchors?: SectionAnchor[];
  /**
   * `tracked` (default): a comment with a `replacement` whose quote is found whole also becomes a
   * tracked change (`w:del` of the quote, `w:ins` of the replacement); `comments`: comments only.
   */
  changes?: 'tracked' | 'comments';
}

export interface CommentPlacement {
  id: number;
  /** `quote`: around the quote; `section`: the section's first paragraph; `document`: the first one. */
  at: 'quote' | 'section' | 'document';
  paragraph: number;
  /**
   * For a comment with a `replacement` under `changes: 'tracked'`: `tracked` when written as a
   * tracked change, `unplaced` when its quote could not be rewritten exactly (the comment only).
   */
  change?: 'tracked' | 'unplaced';
}

const COMMENTS_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml';
const REL_TRANSITIONAL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const REL_STRICT = 'http://purl.oclc.org/ooxml/officeDocument/relationships';
const RELS_NS = 'http://schemas.openxmlformats.org/package/2006/relationships';

/** Up to three initials of a name ("Ada Lovelace" -> "AL"). */
export function initialsOf(name: string): string {
  const words = collapse(name).split(' ').filter(Boolean);
  const letters = words.map((word) => [...word][0] ?? '').join('');
  return [...letters].slice(0, 3).join('').toUpperCase() || '?';
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

  const tracked = (options.changes ?? 'tracked') === 'tracked' && comments.some((c) => c.replacement);
  let nextId = Math.max(doc.maxId, existing ? maxCommentId(existing) : -1) + 1;
  if (tracked) {
    // Revision ids are unique across the main part, headers, footers and notes.
    for (const [path, bytes] of Object.entries(files)) {
      if (/^word\/(header|footer|footnotes|endnotes)\d*\.xml$/i.test(path)) {
        nextId = Math.max(nextId, maxCommentId(decodeXml(bytes)) + 1);
      }
    }
  }
  let containers: Containers | undefined;
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

    if (tracked && comment.replacement && comment.quote) {
      const exact = exactQuote(comment.quote, sectionParagraphs, paragraphs, views);
      containers ??= exact ? revisionContainers(doc) : undefined;
      const change = {
        replacement: comment.replacement,
        author: comment.author,
        date: comment.date,
        delId: nextId,
        insId: nextId + 1,
        startMark,
        endMark,
      };
      if (exact && containers && planTrackedChange(edits, doc, exact, change, containers, w)) {
        nextId += 2;
        placements.push({ id, at: 'quote', paragraph: exact.paragraph.position, change: 'tracked' });
        newComments.push({ comment, id });
        continue;
      }
    }
    const unplaced = tracked && comment.replacement ? { change: 'unplaced' as const } : {};

    if (comment.atStart) {
      edits.slot(firstText.contentStart).starts.push(startMark);
      edits.slot(firstText.closeStart).ends.push(endMark);
      placements.push({ id, at: 'document', paragraph: firstText.position });
      newComments.push({ comment, id });
      continue;
    }
    const match = comment.quote ? findQuote(comment.quote, sectionParagraphs, paragraphs, views) : undefined;
    if (match) {
      const start = cutAt(doc.xml, match.first, 'before');
      const end = cutAt(doc.xml, match.last, 'after');
      edits.slot(start.position, start.before, start.after).starts.push(startMark);
      edits.slot(end.position, end.before, end.after).ends.push(endMark);
      for (const cut of [start, end]) {
        if (cut.preserve) edits.replace(cut.preserve.start, cut.preserve.end, cut.preserve.tag);
      }
      placements.push({ id, at: 'quote', paragraph: match.paragraph.position, ...unplaced });
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
      placements.push({
        id,
        at: target ? 'section' : 'document',
        paragraph: paragraph.position,
        ...unplaced,
      });
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
