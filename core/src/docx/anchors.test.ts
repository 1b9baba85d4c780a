/** Paragraph positions and section starts in word/document.xml (see anchors.ts). */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun } from 'docx';
import { describe, expect, it } from 'vitest';
import { anchorSections, collapse, parseDocumentXml, readWordParts } from './anchors.ts';
import { extractSections, shortTitle } from './sections.ts';

const CORPUS = fileURLToPath(new URL('../../../../shared/corpus/docx/', import.meta.url));

const table = (rows: string[][]) =>
  new Table({
    rows: rows.map(
      (cells) =>
        new TableRow({ children: cells.map((text) => new TableCell({ children: [new Paragraph(text)] })) }),
    ),
  });

const build = (children: (Paragraph | Table)[]) =>
  Packer.toBuffer(new Document({ sections: [{ children }] }));

describe('parseDocumentXml', () => {
  it('numbers paragraphs in document order, table cells included, text boxes and mc:Choice left out', () => {
    const xml =
      '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" ' +
      'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><w:body>' +
      '<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Title</w:t></w:r></w:p>' +
      '<w:tbl><w:tr><w:tc><w:p><w:r><w:t>cell &amp; one</w:t></w:r></w:p></w:tc></w:tr></w:tbl>' +
      '<w:p><w:r><mc:AlternateContent><mc:Choice><w:drawing><w:txbxContent><w:p><w:r><w:t>boxed</w:t></w:r></w:p>' +
      '</w:txbxContent></w:drawing></mc:Choice><mc:Fallback/></mc:AlternateContent></w:r>' +
      '<w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">after </w:t><w:tab/><w:t>box</w:t></w:r></w:p>' +
      '<w:p/></w:body></w:document>';
    const doc = parseDocumentXml(xml);
    expect(doc.prefix).toBe('w');
    expect(doc.paragraphs.map((p) => [p.position, p.text, p.bodyLevel])).toEqual([
      [0, 'Title', true],
      [1, 'cell & one', false],
      [2, 'after  box', true],
      [3, '', true],
    ]);
    const [title, cell, boxed, empty] = doc.paragraphs;
    expect(title?.styleId).toBe('Heading1');
    expect(xml.slice(title!.start, title!.end)).toMatch(/^<w:p>.*<\/w:p>$/);
    expect(xml.slice(title!.contentStart, title!.closeStart)).toBe('<w:r><w:t>Title</w:t></w:r>');
    expect(cell?.inTable).toBe(true);
    expect(boxed?.runs[1]?.bold).toBe(true);
    expect(boxed?.runs[1]?.contentCount).toBe(3);
    expect(empty?.selfClosing).toBe(true);
    // Every text character knows the raw XML it came from.
    const amp = cell!.chars[5]!;
    expect(amp.child.text).toBe('cell & one');
    expect(amp.child.pieces.find((piece) => piece.text === '&')).toMatchObject({ end: expect.any(Number) });
  });
});

describe('sections', () => {
  it('finds heading sections at paragraph positions, counting table paragraphs', async () => {
    const docx = await build([
      new Paragraph('Before any heading.'),
      new Paragraph({ text: 'Scope', heading: HeadingLevel.HEADING_1 }),
      new Paragraph('Body.'),
      table([
        ['a', 'b'],
        ['c', 'd'],
      ]),
      new Paragraph({ text: 'Details', heading: HeadingLevel.HEADING_2 }),
      new Paragraph({ text: 'Deep heading', heading: HeadingLevel.HEADING_4 }),
      new Paragraph('More.'),
    ]);
    const extracted = await extractSections(docx);
    // Text before the first heading is titled by its own first line, never an invented name.
    expect(extracted.sections.map((s) => s.title)).toEqual(['Before any heading.', 'Scope', 'Details']);
    const anchors = anchorSections(docx);
    expect(anchors).toEqual([
      { index: 0, title: 'Before any heading.', paragraph: 0, end: 1 },
      { index: 1, title: 'Scope', paragraph: 1, end: 7 },
      { index: 2, title: 'Details', paragraph: 7, end: 10 },
    ]);
    expect(anchorSections(docx, extracted.sections)).toEqual(anchors);
  });

  it('falls back to short bold paragraphs like extractSections', async () => {
    const docx = await build([
      new Paragraph({ children: [new TextRun({ text: 'Part one', bold: true })] }),
      new Paragraph('Text of part one.'),
      new Paragraph({ children: [new TextRun({ text: 'Part two', bold: true }), new TextRun('  ')] }),
      new Paragraph({ children: [new TextRun('Mixed '), new TextRun({ text: 'bold', bold: true })] }),
      table([['Not a heading in a table']]),
    ]);
    const extracted = await extractSections(docx);
    expect(extracted.sections.map((s) => s.title)).toEqual(['Part one', 'Part two']);
    expect(anchorSections(docx)).toEqual([
      { index: 0, title: 'Part one', paragraph: 0, end: 2 },
      { index: 1, title: 'Part two', paragraph: 2, end: 5 },
    ]);
  });

  it('lines up stored sections by title, and keeps a section it cannot find where the one before starts', async () => {
    const docx = await build([
      new Paragraph({ text: 'Alpha', heading: HeadingLevel.HEADING_1 }),
      new Paragraph('a'),
      new Paragraph({ text: 'Beta', heading: HeadingLevel.HEADING_1 }),
      new Paragraph('b'),
    ]);
    expect(
      anchorSections(docx, [
        { index: 0, title: 'Alpha' },
        { index: 1, title: 'Renamed' },
        { index: 2, title: 'Beta' },
      ]),
    ).toEqual([
      { index: 0, title: 'Alpha', paragraph: 0, end: 0 },
      { index: 1, title: 'Renamed', paragraph: 0, end: 2 },
      { index: 2, title: 'Beta', paragraph: 2, end: 4 },
    ]);
  });
});

describe('the corpus', () => {
  // mammoth reads text boxes, the anchors do not: all of this document's text is in one.
  const TEXT_BOX_HEADING = new Set(['mammoth-text-box.docx']);
  const files = readdirSync(CORPUS).filter((name) => name.endsWith('.docx'));

  for (const name of files) {
    it(`${name}: sections start where extractSections finds them`, { timeout: 30_000 }, async () => {
      const buf = readFileSync(`${CORPUS}${name}`);
      let sections: { index: number; title: string }[];
      try {
        sections = (await extractSections(buf)).sections;
        readWordParts(buf);
      } catch {
        return; // refused at upload
      }
      if (!TEXT_BOX_HEADING.has(name)) {
        expect(anchorSections(buf).map((a) => a.title)).toEqual(sections.map((s) => s.title));
      }
      const { doc } = readWordParts(buf);
      const aligned = anchorSections(buf, sections);
      expect(aligned.map((a) => a.title)).toEqual(sections.map((s) => s.title));
      let previous = 0;
      for (const anchor of aligned) {
        expect(anchor.paragraph).toBeGreaterThanOrEqual(previous);
        expect(anchor.end).toBeGreaterThanOrEqual(anchor.paragraph);
        expect(anchor.end).toBeLessThanOrEqual(doc.paragraphs.length);
        previous = anchor.paragraph;
        const heading = doc.paragraphs[anchor.paragraph];
        if (!TEXT_BOX_HEADING.has(name)) {
          expect(shortTitle(collapse(heading?.text ?? ''))).toBe(anchor.title);
        }
      }
    });
  }
});
