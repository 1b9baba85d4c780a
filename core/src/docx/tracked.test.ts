/** Suggested rewrites written as Word tracked changes (see tracked.ts). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  Document,
  ExternalHyperlink,
  HeadingLevel,
  Packer,
  Paragraph,
  Table,
  TableCell,
  TableRow,
  TextRun,
} from 'docx';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { Parser } from 'htmlparser2';
import mammoth from 'mammoth';
import { describe, expect, it } from 'vitest';
import { addCommentsWithPlacements, type ExportComment } from './comments.ts';

const CORPUS = fileURLToPath(new URL('../../../../shared/corpus/docx/', import.meta.url));

/** Scope (one-run sentence, a bold + italic sentence, a table, a link), then the heading Timeline. */
async function sampleDocx(): Promise<Uint8Array> {
  const buffer = await Packer.toBuffer(
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
                new TextRun({ text: ' than planned', italics: true }),
                new TextRun(' in the first year.'),
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
            new Paragraph({
              children: [
                new TextRun('See the '),
                new ExternalHyperlink({
                  link: 'https://example.com',
                  children: [new TextRun('project site')],
                }),
                new TextRun(' for details.'),
              ],
            }),
            new Paragraph({ text: 'Timeline', heading: HeadingLevel.HEADING_2 }),
            new Paragraph({ children: [new TextRun('Phase one ends in March.')] }),
          ],
        },
      ],
    }),
  );
  return new Uint8Array(buffer);
}

const item = (fields: Partial<ExportComment> & Pick<ExportComment, 'quote'>): ExportComment => ({
  sectionIndex: 0,
  sectionTitle: 'Scope',
  author: 'Grace Hopper',
  date: '2026-12-01T09:30:00.000Z',
  text: 'Shorter.\nReplace with: something',
  ...fields,
});

const mainXml = (docx: Uint8Array): string => strFromU8(unzipSync(docx)['word/document.xml']!);

interface Revision {
  kind: 'ins' | 'del';
  id: string;
  author: string;
  date: string;
  text: string;
  /** The `w:rPr` of each run inside. */
  rPrs: string[];
}

interface ParagraphView {
  style?: string;
  inCell: boolean;
  /** Text with every change accepted, and with every change rejected. */
  accepted: string;
  original: string;
  revisions: Revision[];
}

/** Each paragraph of a main part as Word would show it with its changes accepted or rejected. */
function paragraphs(xml: string): ParagraphView[] {
  const out: ParagraphView[] = [];
  const stack: string[] = [];
  let current: ParagraphView | undefined;
  let revision: Revision | undefined;
  let rPrStart = -1;
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        stack.push(name);
        if (name === 'w:p') {
          current = { inCell: stack.includes('w:tc'), accepted: '', original: '', revisions: [] };
          out.push(current);
        } else if (name === 'w:pStyle' && current) current.style = attribs['w:val'];
        else if ((name === 'w:ins' || name === 'w:del') && stack.at(-2) !== 'w:rPr' && current) {
          revision = {
            kind: name === 'w:ins' ? 'ins' : 'del',
            id: attribs['w:id'] ?? '',
            author: attribs['w:author'] ?? '',
            date: attribs['w:date'] ?? '',
            text: '',
            rPrs: [],
          };
          current.revisions.push(revision);
        } else if (name === 'w:rPr' && revision && stack.at(-2) === 'w:r') rPrStart = parser.startIndex;
      },
      ontext(text) {
        const where = stack.at(-1);
        if (!current || (where !== 'w:t' && where !== 'w:delText')) return;
        if (revision) revision.text += text;
        if (where === 'w:delText' || revision?.kind !== 'ins') current.original += text;
        if (where === 'w:t') current.accepted += text;
      },
      onclosetag(name) {
        stack.pop();
        if (name === 'w:rPr' && rPrStart >= 0 && revision) {
          revision.rPrs.push(xml.slice(rPrStart, parser.endIndex + 1));
          rPrStart = -1;
        }
        if ((name === 'w:ins' || name === 'w:del') && revision && stack.at(-1) !== 'w:rPr')
          revision = undefined;
        if (name === 'w:p') current = undefined;
      },
    },
    { xmlMode: true, decodeEntities: true },
  );
  parser.write(xml);
  parser.end();
  return out;
}

const changed = (xml: string) => paragraphs(xml).filter((p) => p.revisions.length > 0);

/** Word's view after "Accept all changes": the text mammoth reads skips deletions and keeps insertions. */
const acceptedText = async (docx: Uint8Array) =>
  (await mammoth.extractRawText({ buffer: Buffer.from(docx) })).value;

describe('tracked changes in the reviewed .docx', () => {
  it('rewrites a quote inside one run, keeping the text around it', async () => {
    const { docx, placements } = addCommentsWithPlacements(await sampleDocx(), [
      item({ quote: 'three regions', replacement: 'four regions' }),
    ]);
    expect(placements).toEqual([expect.objectContaining({ at: 'quote', change: 'tracked' })]);
    const [paragraph, ...others] = changed(mainXml(docx));
    expect(others).toEqual([]);
    expect(paragraph?.original).toBe('The project covers three regions & several partners.');
    expect(paragraph?.accepted).toBe('The project covers four regions & several partners.');
    expect(
      paragraph?.revisions.map(({ kind, author, date, text }) => ({ kind, author, date, text })),
    ).toEqual([
      { kind: 'del', author: 'Grace Hopper', date: '2026-12-01T09:30:00Z', text: 'three regions' },
      { kind: 'ins', author: 'Grace Hopper', date: '2026-12-01T09:30:00Z', text: 'four regions' },
    ]);
    // The comment sits around the change, and Word's accepted text has the replacement.
    const xml = mainXml(docx);
    const id = placements[0]!.id;
    const start = xml.indexOf(`<w:commentRangeStart w:id="${id}"/>`);
    expect(start).toBeGreaterThan(-1);
    expect(xml.indexOf('<w:del ', start)).toBeGreaterThan(start);
    expect(xml.indexOf(`<w:commentRangeEnd w:id="${id}"/>`)).toBeGreaterThan(xml.indexOf('</w:ins>'));
    const text = await acceptedText(docx);
    expect(text).toContain('The project covers four regions & several partners.');
    expect(text).not.toContain('three regions');
  });

  it('keeps each run’s formatting when the quote spans a bold and an italic run', async () => {
    const { docx } = addCommentsWithPlacements(await sampleDocx(), [
      item({ quote: 'are significantly higher than planned in', replacement: 'exceed the plan in' }),
    ]);
    const [paragraph] = changed(mainXml(docx));
    expect(paragraph?.original).toBe('Costs are significantly higher than planned in the first year.');
    expect(paragraph?.accepted).toBe('Costs exceed the plan in the first year.');
    const del = paragraph!.revisions.find((r) => r.kind === 'del')!;
    const ins = paragraph!.revisions.find((r) => r.kind === 'ins')!;
    expect(del.text).toBe('are significantly higher than planned in');
    // Four runs deleted: plain (split), bold, italic, plain (split); only the bold one is bold.
    expect(del.rPrs.filter((rPr) => rPr.includes('<w:b/>'))).toHaveLength(1);
    expect(del.rPrs.filter((rPr) => rPr.includes('<w:i/>'))).toHaveLength(1);
    const xml = mainXml(docx);
    expect(xml).toMatch(
      /<w:r><w:rPr><w:b\/><w:bCs\/><\/w:rPr><w:delText xml:space="preserve">significantly higher<\/w:delText>/,
    );
    expect(xml).toMatch(
      /<w:r><w:rPr><w:i\/><w:iCs\/><\/w:rPr><w:delText xml:space="preserve"> than planned<\/w:delText>/,
    );
    // The inserted run takes the first quoted run's formatting (plain here).
    expect(ins.text).toBe('exceed the plan in');
    expect(ins.rPrs).toEqual([]);
    expect(await acceptedText(docx)).toContain('Costs exceed the plan in the first year.');
  });

  it('rewrites in a table cell and in a heading, with unique ids after the existing ones', async () => {
    const original = await sampleDocx();
    const { docx, placements } = addCommentsWithPlacements(original, [
      item({ quote: 'approves the budget quarterly', replacement: 'approves the budget monthly' }),
      item({ sectionIndex: 1, sectionTitle: 'Timeline', quote: 'Timeline', replacement: 'Schedule' }),
    ]);
    expect(placements.map((p) => p.change)).toEqual(['tracked', 'tracked']);
    const [cell, heading] = changed(mainXml(docx));
    expect(cell).toMatchObject({ inCell: true, accepted: 'Finance team approves the budget monthly.' });
    expect(heading).toMatchObject({
      inCell: false,
      style: 'Heading2',
      accepted: 'Schedule',
      original: 'Timeline',
    });
    const ids = [
      ...mainXml(docx).matchAll(/<w:(?:ins|del|commentRangeStart|bookmarkStart) w:id="(\d+)"/g),
    ].map((m) => m[1]);
    const revisionIds = [cell, heading].flatMap((p) => p!.revisions.map((r) => r.id));
    expect(new Set(revisionIds).size).toBe(4);
    const before = [...mainXml(original).matchAll(/w:id="(\d+)"/g)].map((m) => Number(m[1]));
    for (const id of revisionIds) expect(Number(id)).toBeGreaterThan(Math.max(-1, ...before));
    expect(ids.length).toBeGreaterThan(0);
  });

  it('leaves a quote it cannot locate exactly, or that leaves a link, to a comment with the suggestion', async () => {
    const { docx, placements } = addCommentsWithPlacements(await sampleDocx(), [
      item({ quote: 'a sentence that is not in the document', replacement: 'x', text: 'Replace with: x' }),
      item({
        quote: 'the project site for',
        replacement: 'our website for',
        text: 'Replace with: our website for',
      }),
      // Found only by its longest prefix: comments accept that, rewrites do not.
      item({ quote: 'Costs are significantly lower than planned', replacement: 'Costs are low' }),
    ]);
    expect(placements.map((p) => [p.at, p.change])).toEqual([
      ['section', 'unplaced'],
      ['quote', 'unplaced'],
      ['quote', 'unplaced'],
    ]);
    const xml = mainXml(docx);
    expect(changed(xml)).toEqual([]);
    expect(xml).not.toMatch(/<w:(ins|del) /);
    const comments = strFromU8(unzipSync(docx)['word/comments.xml']!);
    expect(comments).toContain('Replace with: our website for');
    expect(await acceptedText(docx)).toContain('See the project site for details.');
  });

  it('writes comments only with changes: comments', async () => {
    const { docx, placements } = addCommentsWithPlacements(
      await sampleDocx(),
      [item({ quote: 'three regions', replacement: 'four regions' })],
      { changes: 'comments' },
    );
    expect(placements).toEqual([expect.objectContaining({ at: 'quote' })]);
    expect(placements[0]?.change).toBeUndefined();
    expect(mainXml(docx)).not.toMatch(/<w:(ins|del) /);
    expect(await acceptedText(docx)).toContain('three regions');
  });

  it('keeps other comments on the same words, and a second change over the same words becomes a comment', async () => {
    const { docx, placements } = addCommentsWithPlacements(await sampleDocx(), [
      item({ quote: 'covers three regions & several', text: 'Wider comment' }),
      item({ quote: 'three regions', replacement: 'four regions' }),
      item({ quote: 'regions & several partners', replacement: 'areas' }),
    ]);
    expect(placements.map((p) => p.change)).toEqual([undefined, 'tracked', 'unplaced']);
    const xml = mainXml(docx);
    for (const { id } of placements) {
      expect(xml).toContain(`<w:commentRangeStart w:id="${id}"/>`);
      expect(xml).toContain(`<w:commentRangeEnd w:id="${id}"/>`);
    }
    expect(changed(xml)[0]?.accepted).toBe('The project covers four regions & several partners.');
    expect(await acceptedText(docx)).toContain('The project covers four regions & several partners.');
  });

  it('writes in the document’s own prefix, or declares one for a default-namespace document', async () => {
    const sample = await sampleDocx();
    const rename = (prefix: string) => {
      const files = unzipSync(sample);
      const xml = strFromU8(files['word/document.xml']!);
      files['word/document.xml'] = strToU8(
        xml
          .replace(/(<\/?)w:/g, `$1${prefix}`)
          .replace(/ w:/g, ` ${prefix}`)
          .replace('xmlns:w=', prefix ? `xmlns:${prefix.slice(0, -1)}=` : 'xmlns='),
      );
      return zipSync(files);
    };
    for (const [prefix, expected] of [
      ['ns0:', /<ns0:del ns0:id="\d+" ns0:author="Grace Hopper"[^>]*><ns0:r><ns0:rPr><ns0:b\/>/],
      ['', /<pw:del pw:id="\d+" pw:author="Grace Hopper"[^>]*><r><rPr><b\/>/],
    ] as const) {
      const { docx, placements } = addCommentsWithPlacements(rename(prefix), [
        item({ quote: 'significantly higher', replacement: 'much higher' }),
      ]);
      expect(placements[0]?.change, prefix).toBe('tracked');
      const xml = mainXml(docx);
      expect(xml).not.toContain('<w:');
      expect(xml).toMatch(expected);
      expect(await acceptedText(docx)).toContain('Costs are much higher than planned in the first year.');
    }
  });

  it('keeps the tracked changes a document already has, and never nests a change in one', () => {
    const original = new Uint8Array(readFileSync(`${CORPUS}poi-delins-tracked-changes.docx`));
    const before = mainXml(original);
    // Each revision as its open tag and its text (a comment's range may now split its runs).
    const revisionsOf = (xml: string) =>
      [...xml.matchAll(/(<w:(ins|del) w:id="\d+"[^>]*[^/]>)([\s\S]*?)<\/w:\2>/g)].map(
        (m) =>
          `${m[1]}${[...m[3]!.matchAll(/<w:(?:t|delText)(?:\s[^>]*)?>([^<]*)</g)].map((t) => t[1]).join('')}`,
      );
    const existing = revisionsOf(before);
    expect(existing.length).toBeGreaterThan(3);
    const { docx, placements } = addCommentsWithPlacements(original, [
      item({
        sectionTitle: '',
        quote: 'Petrika the Albanian variation',
        replacement: 'Petrika, the Albanian form',
      }),
      // This sentence is itself an insertion still to be accepted.
      item({ sectionTitle: '', quote: 'Apache Tika 0.3 has been released', replacement: 'Tika 0.3 is out' }),
    ]);
    expect(placements.map((p) => p.change)).toEqual(['tracked', 'unplaced']);
    const after = mainXml(docx);
    expect(revisionsOf(after)).toEqual(expect.arrayContaining(existing));
    expect(revisionsOf(after)).toHaveLength(existing.length + 2);
    const ours = changed(after).flatMap((p) => p.revisions.filter((r) => r.author === 'Grace Hopper'));
    expect(ours.map((r) => [r.kind, r.text])).toEqual([
      ['del', 'Petrika the Albanian variation'],
      ['ins', 'Petrika, the Albanian form'],
    ]);
    const maxBefore = Math.max(...[...before.matchAll(/w:id="(\d+)"/g)].map((m) => Number(m[1])));
    for (const r of ours) expect(Number(r.id)).toBeGreaterThan(maxBefore);
  });
});
