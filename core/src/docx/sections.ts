/**
 * Splits a Word document into reviewable sections with mammoth: by heading styles first; when
 * a document has none, by short bold paragraphs the way people write headings; else one section.
 * Section HTML is sanitized here, before anything stores it.
 */
import render from 'dom-serializer';
import type { ChildNode, Element } from 'domhandler';
import { textContent } from 'domutils';
import { parseDocument } from 'htmlparser2';
import mammoth from 'mammoth';
import sanitizeHtml from 'sanitize-html';
import { PrismError } from '../errors.ts';
import type { Section } from '../protocol.ts';

export const MAX_TITLE_CHARS = 120;
/** A "heading" longer than this is a body paragraph styled as a heading. */
const MAX_HEADING_CHARS = 120;

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

/** Whitespace collapsed: how quotes and section text are compared everywhere in Prism. */
export const collapse = (text: string): string => text.replace(/\s+/g, ' ').trim();

export const shortTitle = (text: string): string => {
  const clean = collapse(text);
  return clean.length <= MAX_TITLE_CHARS ? clean : `${clean.slice(0, MAX_TITLE_CHARS - 1).trimEnd()}…`;
};

/** A paragraph whose whole text is bold and short reads as a heading to a person. */
function boldHeading(node: ChildNode): boolean {
  if (!isElement(node) || node.name !== 'p') return false;
  const text = collapse(textContent(node));
  if (text.length === 0 || text.length > 100) return false;
  const meaningful = node.children.filter(
    (child) => !(child.type === 'text' && collapse(textContent(child)) === ''),
  );
  return (
    meaningful.length > 0 &&
    meaningful.every((child) => isElement(child) && (child.name === 'strong' || child.name === 'b'))
  );
}

/** Section names reports use, recognised as headings when they stand alone on a line. */
const KNOWN_SECTIONS = new RegExp(
  `^(${[
    'executive summary',
    'summary',
    'introduction',
    'background',
    'context',
    'scope',
    'purpose',
    'objectives?',
    'methodology',
    'method',
    'approach',
    'findings',
    'results',
    'analysis',
    'discussion',
    'impact',
    'root cause',
    'timeline',
    'recommendations?',
    'actions?',
    'next steps',
    'action items',
    'risks?',
    'conclusions?',
    'lessons learned',
    'appendix( [a-z0-9]+)?',
    'references',
    'glossary',
    'definitions',
  ].join('|')})\\s*:?$`,
  'i',
);
const NUMBERED = /^((\d{1,2}(\.\d{1,2}){0,3})\.?|[A-Z]\.|[IVXLC]{1,6}\.)\s+\S/;

/**
 * The level of a line of text people wrote as a heading without a heading style, or undefined:
 * numbered lines ("1.", "2.1", "A.", "IV."), ALL CAPS lines and known section names. Numbered
 * ones take their depth as level. Shared with the export's anchor finder, so both split alike.
 */
export function textHeadingLevel(text: string): number | undefined {
  if (text.length === 0 || text.length > 100) return undefined;
  const numbered = NUMBERED.exec(text);
  if (numbered && text.length <= 80 && !/[.:;,]$/.test(text)) {
    return Math.min(numbered[2] ? numbered[2].split('.').length : 1, 3);
  }
  const letters = text.replace(/[^\p{L}]/gu, '');
  if (
    letters.length >= 4 &&
    letters === letters.toUpperCase() &&
    letters !== letters.toLowerCase() &&
    text.length <= 80
  ) {
    return 1;
  }
  return KNOWN_SECTIONS.test(text) ? 1 : undefined;
}

/** A paragraph written as a heading: short and all bold, or see `textHeadingLevel`. */
function writtenHeadingLevel(block: Block): number | undefined {
  const node = block.node;
  if (!isElement(node) || node.name !== 'p' || block.text.includes('\n')) return undefined;
  if (boldHeading(node)) return 1;
  return textHeadingLevel(block.text);
}

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

function split(blocks: Block[], isHeading: (block: Block) => number | undefined): Draft[] {
  const drafts: Draft[] = [];
  let current: Draft | undefined;
  for (const block of blocks) {
    const level = isHeading(block);
    if (level !== undefined) {
      current = { title: shortTitle(block.text), level, blocks: [block] };
      drafts.push(current);
      continue;
    }
    if (!current) {
      current = { title: 'Introduction', level: 1, blocks: [] };
      drafts.push(current);
    }
    current.blocks.push(block);
  }
  // A heading with nothing under it and no text of its own adds nothing to review.
  return drafts.filter((draft) => draft.blocks.some((block) => block.text.length > 0));
}

export interface ExtractedDocument {
  sections: Section[];
  /** The document's first line when it reads as a title, a fallback title for the review. */
  heading?: string;
  warnings: string[];
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

  const byStyle = (block: Block): number | undefined => {
    const level = headingLevel(block.node);
    return level !== undefined &&
      level <= 3 &&
      block.text.length > 0 &&
      block.text.length <= MAX_HEADING_CHARS
      ? level
      : undefined;
  };
  let drafts = split(blocks, byStyle);
  if (drafts.length < 2) {
    const written = split(blocks, (block) => writtenHeadingLevel(block));
    if (written.length >= 2) drafts = written;
  }
  if (drafts.length === 0) drafts = [{ title: 'Document', level: 1, blocks }];

  const sections: Section[] = drafts.map((draft, index) => ({
    id: `s${index + 1}`,
    index,
    title: draft.title || `Section ${index + 1}`,
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
