/**
 * The exported .docx opens in LibreOffice the way it would in a user's Word: converted headless to
 * PDF (comments exported as PDF annotations, or printed in the margin by LibreOffice versions after 7.4) and to
 * ODT (where each comment's range must cover exactly its quote), and suggested rewrites to flat ODT
 * (where each must be a tracked change by its author, deleting the quote and inserting the
 * replacement). Skipped when LibreOffice is not installed (Debian: `apt-get install libreoffice-writer
 * poppler-utils`).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun } from 'docx';
import { strFromU8, unzipSync } from 'fflate';
import { Parser } from 'htmlparser2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addComments, type ExportComment } from './comments.ts';

const CORPUS = fileURLToPath(new URL('../../../../shared/corpus/docx/', import.meta.url));
const run = promisify(execFile);
const onPath = (bin: string): boolean => spawnSync('which', [bin]).status === 0;
const OFFICE = ['soffice', 'libreoffice'].find(onPath);
const PDFTOTEXT = onPath('pdftotext');

/** Comments as PDF annotations (ExportNotes, any version) and printed in the margin where supported (ExportNotesInMargin: not in Debian 12's 7.4). */
const PDF_WITH_COMMENTS =
  'pdf:writer_pdf_Export:{"ExportNotes":{"type":"boolean","value":"true"},"ExportNotesInMargin":{"type":"boolean","value":"true"}}';

let work = '';
let profile = '';

async function convert(files: string[], format: string): Promise<void> {
  await run(
    OFFICE!,
    [
      `-env:UserInstallation=${pathToFileURL(profile).href}`,
      '--headless',
      '--norestore',
      '--convert-to',
      format,
      '--outdir',
      work,
      ...files,
    ],
    { timeout: 180_000 },
  );
}

/** Decodes a PDF string: `<FEFF...>` hex or `(...)` literal, UTF-16BE when it starts with a BOM. */
function pdfString(raw: string): string {
  let bytes: number[];
  if (raw.startsWith('<')) {
    const hex = raw.slice(1, -1).replace(/\s+/g, '');
    bytes = hex.match(/../g)?.map((pair) => Number.parseInt(pair, 16)) ?? [];
  } else {
    bytes = [];
    const body = raw.slice(1, -1);
    for (let i = 0; i < body.length; i += 1) {
      const ch = body[i]!;
      if (ch !== '\\') {
        bytes.push(ch.charCodeAt(0) & 0xff);
        continue;
      }
      const next = body[++i] ?? '';
      const octal = /^[0-7]{1,3}/.exec(body.slice(i))?.[0];
      if (octal) {
        bytes.push(Number.parseInt(octal, 8));
        i += octal.length - 1;
      } else {
        bytes.push(
          ({ n: 10, r: 13, t: 9, b: 8, f: 12 } as Record<string, number>)[next] ?? next.charCodeAt(0),
        );
      }
    }
  }
  if (bytes[0] === 0xfe && bytes[1] === 0xff)
    return new TextDecoder('utf-16be').decode(Uint8Array.from(bytes.slice(2)));
  return String.fromCharCode(...bytes);
}

/** Text annotations of a PDF: their contents and titles (authors). */
function pdfAnnotations(pdf: Buffer): { contents: string; author: string }[] {
  const text = pdf.toString('latin1');
  const out: { contents: string; author: string }[] = [];
  const STRING = String.raw`(<[0-9A-Fa-f\s]*>|\((?:\\.|[^\\)])*\))`;
  for (const match of text.matchAll(/<<((?:(?!>>)[\s\S])*?\/Subtype\s*\/Text[\s\S]*?)>>/g)) {
    const dict = match[1]!;
    const contents = new RegExp(`/Contents\\s*${STRING}`).exec(dict)?.[1];
    const author = new RegExp(`/T\\s*${STRING}`).exec(dict)?.[1];
    if (contents) out.push({ contents: pdfString(contents), author: author ? pdfString(author) : '' });
  }
  return out;
}

interface OdtAnnotation {
  author: string;
  text: string;
  /** The document text the comment covers. */
  range: string;
}

/** Comments of an ODT's content.xml, with the text each one covers. */
function odtAnnotations(contentXml: string): OdtAnnotation[] {
  const byName = new Map<string, OdtAnnotation>();
  const open = new Set<OdtAnnotation>();
  const stack: string[] = [];
  let inside: OdtAnnotation | undefined;
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        stack.push(name);
        if (name === 'office:annotation') {
          inside = { author: '', text: '', range: '' };
          byName.set(attribs['office:name'] ?? `point-${byName.size}`, inside);
        } else if (name === 'office:annotation-end') {
          const ended = byName.get(attribs['office:name'] ?? '');
          if (ended) open.delete(ended);
        } else if (inside && name === 'text:p' && inside.text) {
          inside.text += '\n';
        } else if (!inside && name === 'text:s') {
          for (const annotation of open) annotation.range += ' ';
        }
      },
      ontext(data) {
        if (!inside) {
          for (const annotation of open) annotation.range += data;
        } else if (stack.at(-1) === 'dc:creator') {
          inside.author += data;
        } else if (stack.includes('text:p', stack.lastIndexOf('office:annotation'))) {
          inside.text += data;
        }
      },
      onclosetag(name) {
        stack.pop();
        if (name === 'office:annotation' && inside) {
          open.add(inside);
          inside = undefined;
        }
      },
    },
    { xmlMode: true },
  );
  parser.write(contentXml);
  parser.end();
  return [...byName.values()];
}

const collapse = (value: string) => value.replace(/\s+/g, ' ').trim();

async function sampleDocx(): Promise<Buffer> {
  return Packer.toBuffer(
    new Document({
      sections: [
        {
          children: [
            new Paragraph({ text: 'Scope', heading: HeadingLevel.HEADING_1 }),
            new Paragraph({
              children: [new TextRun('The project covers three regions & several partners.')],
            }),
            new Paragraph({
              children: [
                new TextRun('Costs are '),
                new TextRun({ text: 'significantly higher', bold: true }),
                new TextRun(' than planned.'),
              ],
            }),
            new Table({
              rows: [
                new TableRow({
                  children: [
                    new TableCell({ children: [new Paragraph('Budget owner')] }),
                    new TableCell({
                      children: [new Paragraph('Finance team approves the budget quarterly.')],
                    }),
                  ],
                }),
              ],
            }),
            new Paragraph({ text: 'Risks', heading: HeadingLevel.HEADING_1 }),
            new Paragraph({ children: [new TextRun('Delays could affect delivery 🚀 and שלום עולם text.')] }),
          ],
        },
      ],
    }),
  );
}

const base = { sectionIndex: 0, sectionTitle: 'Scope', date: '2026-11-22T10:15:00Z' };
const COMMENTS: ExportComment[] = [
  { ...base, author: 'Ada Lovelace', quote: 'three regions & several partners', text: 'Which regions?' },
  {
    ...base,
    author: 'Grace Hopper',
    quote: 'are significantly higher than',
    text: 'By how much?\nGive numbers.',
  },
  {
    ...base,
    author: 'Prism AI',
    quote: 'Finance team approves the budget quarterly.',
    text: 'Monthly & <better>',
  },
  {
    ...base,
    sectionIndex: 1,
    sectionTitle: 'Risks',
    author: 'Ada Lovelace',
    quote: 'affect delivery 🚀 and שלום',
    text: 'Emoji 🚀 and עברית',
  },
  {
    ...base,
    sectionIndex: 1,
    sectionTitle: 'Risks',
    author: 'Prism AI',
    quote: 'not there',
    text: 'On the heading',
  },
];

describe('the exported .docx in LibreOffice', () => {
  if (!OFFICE)
    throw new Error(
      'LibreOffice is not installed; `npm test` installs it (apt-get install libreoffice-writer)',
    );
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'prism-lo-'));
    profile = join(work, 'profile');
    await writeFile(join(work, 'export.docx'), addComments(await sampleDocx(), COMMENTS));
    const existing = await readFile(`${CORPUS}mammoth-comments.docx`);
    await writeFile(
      join(work, 'existing.docx'),
      addComments(existing, [
        { ...base, sectionTitle: 'Introduction', author: 'Prism AI', quote: 'Ouch', text: 'Added by Prism' },
      ]),
    );
    const strict = await readFile(`${CORPUS}mammoth-strict-format.docx`);
    await writeFile(
      join(work, 'strict.docx'),
      addComments(strict, [
        { ...base, sectionTitle: 'Introduction', author: 'Prism AI', text: 'Strict comment' },
      ]),
    );
  }, 60_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('converts to PDF with every comment kept, and the text unchanged', { timeout: 180_000 }, async () => {
    await convert([join(work, 'export.docx')], PDF_WITH_COMMENTS);
    const pdf = await readFile(join(work, 'export.pdf'));
    const annotations = pdfAnnotations(pdf);
    let printed = '';
    if (PDFTOTEXT) {
      printed = (await run('pdftotext', ['-layout', join(work, 'export.pdf'), '-'])).stdout;
      for (const line of ['Scope', 'The project covers three regions & several partners.', 'Budget owner']) {
        expect(printed).toContain(line);
      }
    }
    for (const { text, author } of COMMENTS) {
      // In the margin (ExportNotesInMargin, newer LibreOffice), else as a PDF annotation (7.4).
      const inMargin = collapse(printed).includes(collapse(text));
      const annotation = annotations.find((a) => collapse(a.contents) === collapse(text));
      expect(inMargin || annotation !== undefined, text).toBe(true);
      // LibreOffice titles an annotation "Author, date, ".
      if (annotation) expect(annotation.author.startsWith(author)).toBe(true);
    }
  });

  it('converts to ODT with each comment covering exactly its quote', { timeout: 180_000 }, async () => {
    await convert([join(work, 'export.docx'), join(work, 'existing.docx'), join(work, 'strict.docx')], 'odt');
    const content = (name: string) =>
      readFile(join(work, name)).then((odt) => strFromU8(unzipSync(odt)['content.xml']!));

    const annotations = odtAnnotations(await content('export.odt'));
    expect(annotations).toHaveLength(COMMENTS.length);
    for (const { text, author, quote } of COMMENTS) {
      const found = annotations.find((a) => collapse(a.text) === collapse(text));
      expect(found, text).toBeDefined();
      expect(found?.author).toBe(author);
      expect(found?.range).toBe(quote === 'not there' ? 'Risks' : quote);
    }

    const existing = odtAnnotations(await content('existing.odt'));
    expect(existing.map((a) => [a.text, a.range])).toEqual(
      expect.arrayContaining([
        ['A tachyon walks into a bar.', 'Ouch'],
        ['Added by Prism', 'Ouch'],
        ['Fin.', expect.any(String)],
      ]),
    );

    const strict = odtAnnotations(await content('strict.odt'));
    expect(strict.map((a) => a.text)).toEqual(['Strict comment']);
  });
});

// ---------------------------------------------------------------------------------------------
// Suggested rewrites as tracked changes

interface OdtChange {
  kind: 'insertion' | 'deletion' | 'format';
  author: string;
  /** The text the change covers in the body (LibreOffice keeps deleted text inline, marked). */
  text: string;
  /** The covered text in bold spans. */
  bold: string;
}

const CHANGE_KINDS: Record<string, OdtChange['kind']> = {
  'text:insertion': 'insertion',
  'text:deletion': 'deletion',
  'text:format-change': 'format',
};

/** LibreOffice's tracked-changes list of a flat ODT, with the text each change covers. */
function odtChanges(fodt: string): { changes: OdtChange[]; paragraphs: { accepted: string; tag: string }[] } {
  const regions = new Map<string, OdtChange>();
  const bold = new Set<string>();
  const open = new Set<OdtChange>();
  const paragraphs: { accepted: string; tag: string }[] = [];
  const stack: string[] = [];
  const spans: boolean[] = [];
  let region: string | undefined;
  let style: string | undefined;
  let paragraph: { accepted: string; tag: string } | undefined;
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        stack.push(name);
        if (name === 'text:changed-region') region = attribs['text:id'] ?? attribs['xml:id'];
        else if (region && CHANGE_KINDS[name]) {
          regions.set(region, { kind: CHANGE_KINDS[name], author: '', text: '', bold: '' });
        } else if (name === 'style:style') style = attribs['style:name'];
        else if (name === 'style:text-properties' && style && attribs['fo:font-weight'] === 'bold')
          bold.add(style);
        else if (name === 'text:change-start') {
          const change = regions.get(attribs['text:change-id'] ?? '');
          if (change) open.add(change);
        } else if (name === 'text:change-end') {
          const change = regions.get(attribs['text:change-id'] ?? '');
          if (change) open.delete(change);
        } else if ((name === 'text:p' || name === 'text:h') && !stack.includes('office:annotation')) {
          if (stack.includes('office:text')) {
            paragraph = { accepted: '', tag: name };
            paragraphs.push(paragraph);
          }
        } else if (name === 'text:span') spans.push(bold.has(attribs['text:style-name'] ?? ''));
        else if (name === 'text:s' && paragraph && !stack.includes('office:annotation')) {
          if (![...open].some((c) => c.kind === 'deletion')) paragraph.accepted += ' ';
          for (const change of open) change.text += ' ';
        }
      },
      ontext(data) {
        if (stack.at(-1) === 'dc:creator' && region && stack.includes('text:changed-region')) {
          const change = regions.get(region);
          if (change) change.author += data;
          return;
        }
        if (!paragraph || stack.includes('office:annotation') || !stack.includes('office:text')) return;
        if (![...open].some((c) => c.kind === 'deletion')) paragraph.accepted += data;
        for (const change of open) {
          change.text += data;
          if (spans.at(-1)) change.bold += data;
        }
      },
      onclosetag(name) {
        stack.pop();
        if (name === 'text:changed-region') region = undefined;
        else if (name === 'style:style') style = undefined;
        else if (name === 'text:span') spans.pop();
        else if (name === 'text:p' || name === 'text:h') {
          if (!stack.includes('office:annotation')) paragraph = undefined;
        }
      },
    },
    { xmlMode: true, decodeEntities: true },
  );
  parser.write(fodt);
  parser.end();
  return { changes: [...regions.values()], paragraphs };
}

const REWRITES = [
  {
    // A plain run, a bold one and a plain one, cut mid-run at both ends.
    author: 'Ada Lovelace',
    quote: 'your interest in docx4j. In order to',
    replacement: 'your work on docx4j. To',
    accepted: 'Thank you for your work on docx4j. To clarify the intellectual property license',
    tag: 'text:p',
  },
  // A table cell.
  {
    author: 'Grace Hopper',
    quote: 'Mailing Address',
    replacement: 'Postal address',
    accepted: 'Postal address',
    tag: 'text:p',
  },
  // A heading.
  {
    author: 'Ada Lovelace',
    quote: 'Grant of Patent License.',
    replacement: 'Patent licence',
    accepted: 'Patent licence',
    tag: 'text:h',
  },
];

describe('suggested rewrites in LibreOffice', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'prism-lo-tracked-'));
    profile = join(work, 'profile');
    const agreement = await readFile(`${CORPUS}docx4j-contributor-agreement-libreoffice.docx`);
    const items = REWRITES.map(({ author, quote, replacement }) => ({
      ...base,
      sectionTitle: '',
      author,
      quote,
      replacement,
      text: `Replace with: ${replacement}`,
    }));
    await writeFile(join(work, 'rewrites.docx'), addComments(agreement, items));
    const tracked = await readFile(`${CORPUS}poi-delins-tracked-changes.docx`);
    await writeFile(join(work, 'original-changes.docx'), tracked);
    await writeFile(
      join(work, 'more-changes.docx'),
      addComments(tracked, [
        {
          ...base,
          sectionTitle: '',
          author: 'Grace Hopper',
          quote: 'Petrika the Albanian variation',
          replacement: 'Petrika, the Albanian form',
          text: 'Shorter.',
        },
      ]),
    );
    await convert(
      ['rewrites.docx', 'original-changes.docx', 'more-changes.docx'].map((name) => join(work, name)),
      'fodt',
    );
  }, 240_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('lists each rewrite as a deletion and an insertion by its author, in a paragraph, a cell and a heading', async () => {
    const { changes, paragraphs } = odtChanges(await readFile(join(work, 'rewrites.fodt'), 'utf8'));
    expect(changes.map(({ kind, author, text }) => ({ kind, author, text }))).toEqual(
      REWRITES.flatMap(({ author, quote, replacement }) => [
        { kind: 'deletion', author, text: quote },
        { kind: 'insertion', author, text: replacement },
      ]),
    );
    // The deleted run keeps its bold; the text around each change is untouched.
    expect(changes[0]?.bold).toBe('docx4j');
    for (const { accepted, tag } of REWRITES) {
      const found = paragraphs.find((p) => p.accepted.startsWith(accepted));
      expect(found, accepted).toBeDefined();
      expect(found?.tag).toBe(tag);
    }
  });

  it('keeps the tracked changes the document already had', async () => {
    const before = odtChanges(await readFile(join(work, 'original-changes.fodt'), 'utf8')).changes;
    const after = odtChanges(await readFile(join(work, 'more-changes.fodt'), 'utf8')).changes;
    expect(before.length).toBeGreaterThan(3);
    const key = (c: OdtChange) => `${c.kind}|${c.author}|${c.text}`;
    expect(after.filter((c) => c.author !== 'Grace Hopper').map(key)).toEqual(before.map(key));
    expect(after.filter((c) => c.author === 'Grace Hopper').map((c) => [c.kind, c.text])).toEqual([
      ['deletion', 'Petrika the Albanian variation'],
      ['insertion', 'Petrika, the Albanian form'],
    ]);
  });
});
