/**
 * Splits a Word document into reviewable sections: where sections start is decided from the
 * document's XML by `planSections` (outline.ts: heading styles, outline levels, bold numbered and
 * other written headings, by one stated rule), the same decision the export's anchors use; the
 * sections' content is mammoth's HTML, cut at those paragraphs. Section HTML is sanitized here,
 * before anything stores it.
 */
import render from 'dom-serializer';
import type { ChildNode, Element } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import mammoth from 'mammoth';
import sanitizeHtml from 'sanitize-html';
import { PrismError } from '../errors.ts';
import type { Section } from '../protocol.ts';
import { wordPartsOf } from './anchors.ts';
import { collapse, type PlannedSection, planSections, shortTitle } from './outline.ts';

export { collapse, MAX_TITLE_CHARS, shortTitle, textHeadingLevel } from './outline.ts';

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    'p',
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'strong',
    'b',
    'em',
    'i',
    'u',
    's',
    'sub',
    'sup',
    'br',
    'ul',
    'ol',
    'li',
    'table',
    'thead',
    'tbody',
    'tfoot',
    'tr',
    'td',
    'th',
    'blockquote',
    'a',
    'span',
  ],
  allowedAttributes: {
    a: ['href', 'id'],
    td: ['colspan', 'rowspan'],
    th: ['colspan', 'rowspan'],
    '*': ['id'],
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
};

export const sanitize = (html: string): string => sanitizeHtml(html, SANITIZE);

const HEADING = /^h([1-6])$/;

const isElement = (node: ChildNode): node is Element => node.type === 'tag';
const headingLevel = (node: ChildNode): number | undefined => {
  if (!isElement(node)) return undefined;
  const match = HEADING.exec(node.name);
  return match ? Number(match[1]) : undefined;
};

interface Block {
  node: ChildNode;
  /** Text with a line per paragraph, list item or table row and cells apart, for prompts and search. */
  text: string;
}

const LINE_BREAKING = new Set(['p', 'li', 'tr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'table']);

function readableText(root: ChildNode): string {
  const out: string[] = [];
  const walk = (node: ChildNode): void => {
    if (node.type === 'text') out.push(node.data);
    else if (isElement(node)) {
      if (node.name === 'br') out.push('\n');
      node.children.forEach(walk);
      if (node.name === 'td' || node.name === 'th') out.push('\t');
      else if (LINE_BREAKING.has(node.name)) out.push('\n');
    }
  };
  walk(root);
  return out
    .join('')
    .split('\n')
    .map((line) => line.replace(/[ \t\u00a0]+/g, ' ').trim())
    .filter(Boolean)
    .join('\n');
}

interface Draft {
  title: string;
  level: number;
  blocks: Block[];
}

/**
 * Cuts mammoth's blocks where the plan starts sections. A planned start is found by its text and
 * how many blocks with that text came before it (a p or h block for each paragraph of the body);
 * text before the first one found is the first planned section, or is titled by its first line.
 */
function cut(blocks: Block[], plan: PlannedSection[]): Draft[] {
  const byKey = new Map<string, number>();
  for (const [index, planned] of plan.entries()) {
    if (planned.occurrence >= 0) byKey.set(`${planned.occurrence}\u0000${planned.text}`, index);
  }
  const seen = new Map<string, number>();
  const drafts: Draft[] = [];
  let started = -1;
  for (const block of blocks) {
    let index: number | undefined;
    if (
      block.text.length > 0 &&
      isElement(block.node) &&
      (block.node.name === 'p' || headingLevel(block.node))
    ) {
      const text = collapse(block.text);
      const count = seen.get(text) ?? 0;
      seen.set(text, count + 1);
      index = byKey.get(`${count}\u0000${text}`);
    }
    if (index !== undefined && index > started) {
      started = index;
      drafts.push({ title: plan[index]!.title, level: plan[index]!.level, blocks: [block] });
      continue;
    }
    if (drafts.length === 0) {
      if (block.text.length === 0) continue;
      const first = plan[0];
      started = Math.max(started, 0);
      drafts.push({
        title: first?.title ?? shortTitle(block.text.split('\n')[0]!),
        level: first?.level ?? 1,
        blocks: [],
      });
    }
    drafts.at(-1)!.blocks.push(block);
  }
  return drafts.filter((draft) => draft.blocks.some((block) => block.text.length > 0));
}

export interface ExtractedDocument {
  sections: Section[];
  /** The document's first line when it reads as a title, a fallback title for the review. */
  heading?: string;
  warnings: string[];
}

/** The planned section starts; none (one section) when the XML cannot be read where mammoth could. */
function plan(buf: Uint8Array): PlannedSection[] {
  try {
    const { doc, styles } = wordPartsOf(buf);
    return planSections(doc, styles);
  } catch {
    return [];
  }
}

/** Converts a checked .docx (see `inspectDocx`) into sections. */
export async function extractSections(buf: Uint8Array): Promise<ExtractedDocument> {
  let html: string;
  let warnings: string[];
  try {
    const result = await mammoth.convertToHtml({
      buffer: Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength),
    });
    html = result.value;
    warnings = result.messages.filter((m) => m.type === 'warning').map((m) => m.message);
  } catch {
    throw new PrismError(
      'corrupt_document',
      'The document is damaged: Word content could not be read from it.',
    );
  }

  const dom = parseDocument(html);
  const blocks: Block[] = dom.children.map((node) => ({ node, text: readableText(node) }));
  if (!blocks.some((block) => block.text.length > 0)) {
    throw new PrismError('empty_document', 'The document has no text to review.');
  }

  const drafts = cut(blocks, plan(buf));

  const sections: Section[] = drafts.map((draft, index) => ({
    id: `s${index + 1}`,
    index,
    title: draft.title,
    level: draft.level,
    html: sanitize(draft.blocks.map((block) => render(block.node)).join('')),
    text: draft.blocks
      .map((block) => block.text)
      .filter(Boolean)
      .join('\n'),
  }));
  // The document's own first line names it when it is a heading or short enough to be a title;
  // a heading further down names a section, not the document.
  const first = blocks.find((block) => block.text.length > 0);
  const titled = first && (headingLevel(first.node) !== undefined || first.text.length <= 100);
  return { sections, heading: titled ? shortTitle(first.text.split('\n')[0]!) : undefined, warnings };
}
