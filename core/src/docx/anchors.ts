/**
 * Where things are in a Word document's main part (word/document.xml): every paragraph with its
 * byte-exact offsets, runs and text, and which paragraphs start Prism's sections. The export uses
 * it to put comments back into the original file without re-serializing anything it does not change.
 *
 * Paragraph positions count the `w:p` elements of the main part in document order, paragraphs in
 * table cells included, text boxes (`w:txbxContent`) and `mc:Choice` branches left out (mammoth reads
 * `mc:Fallback` instead, and so does this). A position is stable for a given original file, so it
 * can be stored at upload time and used at export time.
 */
import { type Unzipped, unzipSync } from 'fflate';
import { Parser } from 'htmlparser2';
import { collapse, planSections, StyleTable, shortTitle } from './outline.ts';

export const WORD_NS = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
export const WORD_STRICT_NS = 'http://purl.oclc.org/ooxml/wordprocessingml/main';
const MC_NS = 'http://schemas.openxmlformats.org/markup-compatibility/2006';

/** A run of decoded text and the raw range of the XML it came from. */
export interface TextPiece {
  text: string;
  start: number;
  end: number;
}

export interface WordRun {
  /** Offset of `<w:r`. */
  start: number;
  /** Offset just after `</w:r>` (or `/>`). */
  end: number;
  /** The raw open tag, e.g. `<w:r w:rsidR="00AB">`. */
  openTag: string;
  /** The raw `<w:rPr>...</w:rPr>`, or ''. */
  rPr: string;
  /** Direct bold (`w:b` not turned off), as mammoth reads it. */
  bold: boolean;
  styleId?: string;
  inHyperlink: boolean;
  /** Content children (everything but `w:rPr`). */
  contentCount: number;
  /** The run's part of its paragraph's `text`. */
  text: string;
}

/** A content child of a run that carries paragraph text: `w:t`, or `w:tab`/`w:br`/... */
export interface WordRunChild {
  kind: 't' | 'other';
  run: WordRun;
  /** Index among the run's content children. */
  childIndex: number;
  start: number;
  end: number;
  /** For `w:t`: offset just after its open tag, whether it preserves spaces, its text pieces. */
  openEnd: number;
  preserve: boolean;
  pieces: TextPiece[];
  text: string;
}

/** Where one character of a paragraph's text comes from. */
export interface CharRef {
  child: WordRunChild;
  /** Offset within the child's text (0 for elements standing for one character). */
  offset: number;
}

export interface WordParagraph {
  position: number;
  start: number;
  /** Offset just after the open tag. */
  openEnd: number;
  /** Offset just after `</w:pPr>` (or the open tag when there is no pPr). */
  contentStart: number;
  /** Offset of `</w:p>` (the tag's start when self-closing). */
  closeStart: number;
  end: number;
  selfClosing: boolean;
  styleId?: string;
  numbered: boolean;
  /** Direct `w:outlineLvl` (0-9, 9 being body text), when the paragraph sets one. */
  outlineLevel?: number;
  /** Not inside a table. */
  bodyLevel: boolean;
  /** Bookmarks starting in it (mammoth turns them into `<a id>`, so it is no bold heading). */
  bookmarks: number;
  inTable: boolean;
  runs: WordRun[];
  /** The paragraph's text as Word shows it; tabs and breaks are spaces. */
  text: string;
  /** One entry per UTF-16 unit of `text`. */
  chars: CharRef[];
}

export interface WordDocumentXml {
  xml: string;
  /** Prefix bound to the WordprocessingML namespace ('' for the default namespace). */
  prefix: string;
  namespace: string;
  /** Offset just before `>` of the root open tag (to add namespace declarations). */
  rootOpenEnd: number;
  paragraphs: WordParagraph[];
  /** Highest numeric `w:id` seen (comments, bookmarks, revisions), -1 when none. */
  maxId: number;
}

/** Decodes an XML part: UTF-8 unless a BOM says UTF-16. */
export function decodeXml(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes);
  return new TextDecoder('utf-8').decode(bytes);
}

/** Finds the prefix bound to `namespaces` on the root element's attributes (a named one first). */
export function prefixFor(attribs: Record<string, string>, namespaces: string[]): string | undefined {
  let fallback: string | undefined;
  for (const [name, value] of Object.entries(attribs)) {
    if (!namespaces.includes(value)) continue;
    if (name.startsWith('xmlns:')) return name.slice('xmlns:'.length);
    if (name === 'xmlns') fallback = '';
  }
  return fallback;
}

const SPACE_LIKE = new Set(['tab', 'cr', 'ptab']);
const CHAR_LIKE: Record<string, string> = { noBreakHyphen: '\u2011', softHyphen: '\u00ad' };

/** A boolean toggle property (`w:b`): on unless `w:val` is false/0/off. */
const toggle = (value: string | undefined): boolean =>
  value === undefined || !['false', '0', 'off'].includes(value.toLowerCase());

/** Parses a main document part, keeping offsets into `xml` for every element it reports. */
export function parseDocumentXml(xml: string): WordDocumentXml {
  let prefix = 'w';
  let namespace = WORD_NS;
  let mc = 'mc';
  let rootOpenEnd = -1;
  let maxId = -1;
  const paragraphs: WordParagraph[] = [];
  const stack: string[] = [];
  let w = (local: string) => `${prefix}:${local}`;
  let local = (name: string): string | undefined =>
    name.startsWith(`${prefix}:`) ? name.slice(prefix.length + 1) : undefined;

  // Depth counters and the elements being read.
  let skip = 0; // inside w:txbxContent or mc:Choice
  let choices = 0; // inside mc:Choice (mammoth reads mc:Fallback)
  let note = 1; // mammoth numbers footnote and endnote references [1], [2], ... in document order
  let tables = 0;
  let hyperlinks = 0;
  let paragraph: WordParagraph | undefined;
  let run: WordRun | undefined;
  let rPrStart = -1;
  let rPrDepth = -1; // stack depth of the run's own w:rPr
  let pPrDepth = -1; // stack depth of the paragraph's own w:pPr
  let text: WordRunChild | undefined;
  let child: WordRunChild | undefined;
  let numbering = false;

  const parent = (): string | undefined => stack[stack.length - 1];
  const pushChars = (ref: WordRunChild, value: string, from: number) => {
    if (!paragraph) return;
    for (let i = 0; i < value.length; i += 1) {
      paragraph.chars.push({ child: ref, offset: from + i });
    }
    paragraph.text += value;
    ref.run.text += value;
  };

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        const start = parser.startIndex;
        const openEnd = parser.endIndex + 1;
        if (stack.length === 0) {
          const found = prefixFor(attribs, [WORD_NS, WORD_STRICT_NS]);
          if (found !== undefined) {
            prefix = found;
            namespace = attribs[found ? `xmlns:${found}` : 'xmlns']!;
          }
          mc = prefixFor(attribs, [MC_NS]) ?? 'mc';
          rootOpenEnd = xml[parser.endIndex - 1] === '/' ? parser.endIndex - 1 : parser.endIndex;
          if (prefix === '') {
            w = (l) => l;
            local = (n) => (n.includes(':') ? undefined : n);
          }
        }
        const idAttr = attribs[prefix ? `${prefix}:id` : 'w:id'];
        if (idAttr !== undefined && /^-?\d+$/.test(idAttr)) maxId = Math.max(maxId, Number(idAttr));

        const above = parent();
        stack.push(name);
        if (name === `${mc}:Choice` || name === w('txbxContent')) {
          skip += 1;
          if (name === `${mc}:Choice`) choices += 1;
          return;
        }
        const tag = local(name);
        if (skip > 0) {
          // Text boxes are left out, but mammoth numbers the notes referenced in them all the same.
          if (choices === 0 && (tag === 'footnoteReference' || tag === 'endnoteReference')) note += 1;
          return;
        }
        switch (tag) {
          case 'tbl':
            tables += 1;
            return;
          case 'hyperlink':
            hyperlinks += 1;
            return;
          case 'p':
            paragraph = {
              position: paragraphs.length,
              start,
              openEnd,
              contentStart: openEnd,
              closeStart: start,
              end: openEnd,
              selfClosing: false,
              numbered: false,
              bodyLevel: tables === 0,
              bookmarks: 0,
              inTable: tables > 0,
              runs: [],
              text: '',
              chars: [],
            };
            paragraphs.push(paragraph);
            return;
          case 'pPr':
            if (paragraph && above === w('p')) pPrDepth = stack.length;
            return;
          case 'bookmarkStart':
            if (paragraph && attribs[w('name')] !== '_GoBack') paragraph.bookmarks += 1;
            return;
          case 'pStyle':
            if (paragraph && stack.length === pPrDepth + 1) paragraph.styleId = attribs[w('val')];
            return;
          case 'numPr':
            if (paragraph && stack.length === pPrDepth + 1) numbering = true;
            return;
          case 'outlineLvl':
            if (paragraph && stack.length === pPrDepth + 1 && /^\d$/.test(attribs[w('val')] ?? '')) {
              paragraph.outlineLevel = Number(attribs[w('val')]);
            }
            return;
          case 'numId':
            if (paragraph && numbering && attribs[w('val')] !== '0') paragraph.numbered = true;
            return;
          case 'r':
            if (!paragraph) return;
            run = {
              start,
              end: openEnd,
              openTag: xml.slice(start, openEnd),
              rPr: '',
              bold: false,
              inHyperlink: hyperlinks > 0,
              contentCount: 0,
              text: '',
            };
            paragraph.runs.push(run);
            return;
          case 'rPr':
            if (run && above === w('r')) {
              rPrStart = start;
              rPrDepth = stack.length;
            }
            return;
          case 'b':
            if (run && stack.length === rPrDepth + 1) run.bold = toggle(attribs[w('val')]);
            return;
          case 'rStyle':
            if (run && stack.length === rPrDepth + 1) run.styleId = attribs[w('val')];
            return;
        }
        // Any other direct child of a run is content.
        if (run && above === w('r') && tag !== undefined) {
          const ref: WordRunChild = {
            kind: tag === 't' ? 't' : 'other',
            run,
            childIndex: run.contentCount,
            start,
            end: openEnd,
            openEnd,
            preserve: attribs['xml:space'] === 'preserve',
            pieces: [],
            text: '',
          };
          run.contentCount += 1;
          child = ref;
          if (tag === 't') text = ref;
          else if (SPACE_LIKE.has(tag)) pushChars(ref, ' ', 0);
          else if (tag === 'br') {
            // Page and column breaks are not text in mammoth's HTML; line breaks are.
            const type = attribs[w('type')];
            if (type === undefined || type === 'textWrapping') pushChars(ref, ' ', 0);
          } else if (CHAR_LIKE[tag]) pushChars(ref, CHAR_LIKE[tag], 0);
          else if (tag === 'footnoteReference' || tag === 'endnoteReference') {
            // mammoth shows a note reference as "[n]": quotes taken from its text include it.
            const label = `[${note}]`;
            note += 1;
            for (let i = 0; i < label.length; i += 1) pushChars(ref, label[i]!, 0);
          }
        } else if (run && above === w('r')) {
          // An element from another namespace directly in a run (rare): content all the same.
          run.contentCount += 1;
        }
      },
      ontext(data) {
        if (!text || skip > 0 || parent() !== w('t')) return;
        const piece = { text: data, start: parser.startIndex, end: parser.endIndex + 1 };
        pushChars(text, data, text.text.length);
        text.pieces.push(piece);
        text.text += data;
      },
      onclosetag(name) {
        const end = parser.endIndex + 1;
        stack.pop();
        if (name === `${mc}:Choice` || name === w('txbxContent')) {
          skip -= 1;
          if (name === `${mc}:Choice`) choices -= 1;
          return;
        }
        if (skip > 0) return;
        const tag = local(name);
        if (child && stack[stack.length - 1] === w('r') && end >= child.end && tag !== 'rPr') {
          child.end = end;
          child = undefined;
          if (tag === 't') text = undefined;
          return;
        }
        switch (tag) {
          case 'tbl':
            tables -= 1;
            return;
          case 'hyperlink':
            hyperlinks -= 1;
            return;
          case 'numPr':
            numbering = false;
            return;
          case 'pPr':
            if (paragraph && stack.length + 1 === pPrDepth) {
              paragraph.contentStart = end;
              pPrDepth = -1;
            }
            return;
          case 'rPr':
            if (run && stack.length + 1 === rPrDepth) {
              run.rPr = xml.slice(rPrStart, end);
              rPrStart = -1;
              rPrDepth = -1;
            }
            return;
          case 'r':
            if (run) {
              run.end = end;
              run = undefined;
            }
            return;
          case 'p':
            if (paragraph) {
              paragraph.selfClosing = parser.startIndex === paragraph.start;
              paragraph.closeStart = parser.startIndex;
              paragraph.end = end;
              paragraph = undefined;
            }
            return;
        }
      },
    },
    { xmlMode: true, decodeEntities: true },
  );
  parser.write(xml);
  parser.end();
  return { xml, prefix, namespace, rootOpenEnd, paragraphs, maxId };
}

/**
 * Paragraph and character style names by style id, from word/styles.xml, with each style's
 * outline level (`w:pPr/w:outlineLvl`, 0-8) resolved through the styles it is based on.
 */
export function parseStyleNames(xml: string | undefined): StyleTable {
  const names = new StyleTable();
  if (!xml) return names;
  let prefix = 'w';
  let current: string | undefined;
  let depth = 0;
  let styleDepth = -1;
  const basedOn = new Map<string, string>();
  const ownOutline = new Map<string, number>();
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (depth === 0) prefix = prefixFor(attribs, [WORD_NS, WORD_STRICT_NS]) ?? 'w';
        depth += 1;
        const q = (l: string) => (prefix ? `${prefix}:${l}` : l);
        if (name === q('style')) {
          current = attribs[q('styleId')];
          styleDepth = depth;
          return;
        }
        if (current === undefined) return;
        const value = attribs[q('val')];
        if (value === undefined) return;
        if (depth === styleDepth + 1 && name === q('name')) names.set(current, value);
        else if (depth === styleDepth + 1 && name === q('basedOn')) basedOn.set(current, value);
        else if (depth === styleDepth + 2 && name === q('outlineLvl') && /^\d$/.test(value)) {
          ownOutline.set(current, Number(value));
        }
      },
      onclosetag() {
        if (depth === styleDepth) {
          current = undefined;
          styleDepth = -1;
        }
        depth -= 1;
      },
    },
    { xmlMode: true },
  );
  parser.write(xml);
  parser.end();
  for (const id of new Set([...basedOn.keys(), ...ownOutline.keys()])) {
    // The nearest style in the chain that sets a level decides; 9 ("body text") stops it.
    let style: string | undefined = id;
    for (let hops = 0; style !== undefined && hops < 20; hops += 1) {
      const level = ownOutline.get(style);
      if (level !== undefined) {
        if (level <= 8) names.outline.set(id, level);
        break;
      }
      style = basedOn.get(style);
    }
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Sections

/** Where a section of the review starts in the original document. */
export interface SectionAnchor {
  index: number;
  title: string;
  /** Position of the section's first paragraph (its heading, when it has one). */
  paragraph: number;
  /** Position after its last paragraph (the next section's first paragraph). */
  end: number;
}

export { collapse };

/**
 * Prism's sections found in the XML: the split `planSections` (outline.ts) decides, which is the
 * one `extractSections` uses too. Text before the first heading is a section titled by its first
 * line. (Text boxes are not read here: when all the text is in them, mammoth still makes one
 * section of it, which starts at the first paragraph.)
 */
export function findSections(doc: WordDocumentXml, styles: Map<string, string>): SectionAnchor[] {
  const plan = planSections(doc, styles);
  if (plan.length === 0) return [{ index: 0, title: '', paragraph: 0, end: doc.paragraphs.length }];
  return plan.map((section, index) => ({
    index,
    title: section.title,
    paragraph: section.position,
    end: plan[index + 1]?.position ?? doc.paragraphs.length,
  }));
}

/**
 * Lines up sections Prism already extracted (with mammoth) with paragraphs of the XML: by index and
 * title where the XML split agrees, else by the next body paragraph whose text makes the same title.
 * A section that cannot be found starts where the one before it does.
 */
export function alignSections(
  doc: WordDocumentXml,
  styles: Map<string, string>,
  sections: { index: number; title: string }[],
): SectionAnchor[] {
  const found = findSections(doc, styles);
  const firstText = doc.paragraphs.find((p) => collapse(p.text) !== '')?.position ?? 0;
  const starts: number[] = [];
  let cursor = 0;
  for (const [i, section] of sections.entries()) {
    let start =
      found.find(
        (anchor) =>
          anchor.index === section.index && anchor.title === section.title && anchor.paragraph >= cursor,
      )?.paragraph ??
      doc.paragraphs.find(
        (p) => p.position >= cursor && p.bodyLevel && shortTitle(collapse(p.text)) === section.title,
      )?.position;
    if (start !== undefined) cursor = start + 1;
    else start = i === 0 ? firstText : (starts[i - 1] ?? firstText);
    starts.push(start);
  }
  return sections.map((section, i) => ({
    index: section.index,
    title: section.title,
    paragraph: starts[i]!,
    end: Math.max(starts[i]!, starts[i + 1] ?? doc.paragraphs.length),
  }));
}

/** Relationship target of `type` (by its last path segment) in a .rels part, resolved against `base`. */
export function relationshipTarget(
  rels: string | undefined,
  type: string,
  base: string,
): { id: string; target: string; path: string } | undefined {
  if (!rels) return undefined;
  let result: { id: string; target: string; path: string } | undefined;
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (result || !/(^|:)Relationship$/.test(name)) return;
        const relType = attribs.Type ?? '';
        if (relType.slice(relType.lastIndexOf('/') + 1) !== type) return;
        if (attribs.TargetMode === 'External' || !attribs.Target) return;
        result = { id: attribs.Id ?? '', target: attribs.Target, path: resolvePart(base, attribs.Target) };
      },
    },
    { xmlMode: true },
  );
  parser.write(rels);
  parser.end();
  return result;
}

/** Resolves a relationship target against the folder of its source part ('' for the package root). */
export function resolvePart(base: string, target: string): string {
  const parts = target.startsWith('/') ? [] : base.split('/').filter(Boolean);
  for (const segment of target.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') parts.pop();
    else parts.push(segment);
  }
  return parts.join('/');
}

export const dirOf = (path: string): string => path.slice(0, path.lastIndexOf('/') + 1);
export const relsOf = (path: string): string =>
  `${dirOf(path)}_rels/${path.slice(path.lastIndexOf('/') + 1)}.rels`;

/** The main document part's path (normally word/document.xml). */
export function mainPartPath(files: Unzipped): string {
  const rels = files['_rels/.rels'];
  const found = rels ? relationshipTarget(decodeXml(rels), 'officeDocument', '') : undefined;
  if (found && files[found.path]) return found.path;
  if (files['word/document.xml']) return 'word/document.xml';
  throw new Error('not a Word document: no main document part');
}

/** The parts the anchors need, read from a .docx. */
export function readWordParts(docx: Uint8Array): {
  files: Unzipped;
  mainPath: string;
  doc: WordDocumentXml;
  styles: StyleTable;
} {
  // Only XML parts are read here: media and embedded fonts can be most of a file's bytes.
  const files = unzipSync(docx, { filter: (file) => /\.(xml|rels)$/i.test(file.name) });
  const mainPath = mainPartPath(files);
  const doc = parseDocumentXml(decodeXml(files[mainPath]!));
  const relsBytes = files[relsOf(mainPath)];
  const stylesRel = relsBytes
    ? relationshipTarget(decodeXml(relsBytes), 'styles', dirOf(mainPath))
    : undefined;
  const stylesBytes = files[stylesRel?.path ?? `${dirOf(mainPath)}styles.xml`];
  const styles = parseStyleNames(stylesBytes ? decodeXml(stylesBytes) : undefined);
  return { files, mainPath, doc, styles };
}

const partsByBuffer = new WeakMap<Uint8Array, ReturnType<typeof readWordParts>>();

/**
 * `readWordParts(docx)`, kept as long as the buffer lives: an upload asks for its sections
 * (`extractSections`), then for their anchors, and the main part is parsed once for both.
 * The buffer must not be changed in between.
 */
export function wordPartsOf(docx: Uint8Array): ReturnType<typeof readWordParts> {
  let parts = partsByBuffer.get(docx);
  if (!parts) {
    parts = readWordParts(docx);
    partsByBuffer.set(docx, parts);
  }
  return parts;
}

/**
 * Per section, where it starts in the original file: call at upload time with the sections
 * `extractSections` produced and keep the result (`paragraph`, `end`) with each section; without
 * `sections`, the XML is split the same way Prism splits the HTML.
 */
export function anchorSections(
  docx: Uint8Array,
  sections?: { index: number; title: string }[],
): SectionAnchor[] {
  const { doc, styles } = wordPartsOf(docx);
  return sections ? alignSections(doc, styles, sections) : findSections(doc, styles);
}
