/**
 * Where sections start (outline.ts), on documents generated with the `docx` package: outline levels
 * set on paragraphs and through styles, bold numbered headings in long documents, cover pages,
 * stray outline levels and abbreviations near headings. Each is split the same way by
 * extractSections (the review) and anchorSections (the export).
 */
import {
  Document,
  HeadingLevel,
  type IStylesOptions,
  Packer,
  Paragraph,
  type ParagraphChild,
  TextRun,
} from 'docx';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { anchorSections, collapse, readWordParts } from './anchors.ts';
import { MAX_SECTION_CHARS } from './outline.ts';
import { extractSections } from './sections.ts';

const build = (children: Paragraph[], styles?: IStylesOptions) =>
  Packer.toBuffer(new Document({ styles, sections: [{ children }] }));

const bold = (text: string, options: { outlineLevel?: number } = {}) =>
  new Paragraph({ children: [new TextRun({ text, bold: true })], ...options });
const plain = (text: string) => new Paragraph({ children: [new TextRun(text)] as ParagraphChild[] });

/** About `chars` characters of contract prose, in paragraphs of ~500, with abbreviations in it. */
function prose(chars: number, topic: string): Paragraph[] {
  const sentence =
    `The Supplier shall perform the ${topic} obligations with due care, e.g. as set out in No. 3 of ` +
    'the Schedule, at a rate of 2.5 per cent vs. the index, and report to the Customer each month. ';
  const paragraphs: Paragraph[] = [];
  for (let n = 0; n < chars; n += sentence.length * 3) paragraphs.push(plain(sentence.repeat(3).trim()));
  return paragraphs;
}

const CLAUSES = [
  'Definitions',
  'Term',
  'Services',
  'Fees',
  'Invoicing',
  'Payment',
  'Warranties',
  'Liability',
  'Indemnity',
  'Insurance',
  'Confidentiality',
  'Data protection',
  'Intellectual property',
  'Subcontracting',
  'Change control',
  'Governance',
  'Audit',
  'Termination',
  'Exit',
  'Force majeure',
  'Disputes',
  'Notices',
  'Assignment',
  'Entire agreement',
  'Severability',
  'Waiver',
  'Counterparts',
  'Third parties',
  'Governing law',
  'Jurisdiction',
  'Anti-bribery',
  'Sanctions',
  'Records',
  'Publicity',
  'Non-solicitation',
  'Costs',
  'Further assurance',
  'Variation',
  'Remedies',
  'Survival',
];

/** extractSections and anchorSections agree, and each section starts at a paragraph with its title. */
async function split(buf: Buffer) {
  const { sections } = await extractSections(buf);
  const anchors = anchorSections(buf);
  expect(anchors.map((a) => a.title)).toEqual(sections.map((s) => s.title));
  expect(anchorSections(buf, sections)).toEqual(anchors);
  const { doc } = readWordParts(buf);
  for (const anchor of anchors) expect(collapse(doc.paragraphs[anchor.paragraph]!.text)).toBe(anchor.title);
  return sections;
}

const documentXml = (buf: Buffer) => new TextDecoder().decode(unzipSync(buf)['word/document.xml']!);

describe('outline levels', () => {
  it('splits a 260,000-character contract at its bold numbered clauses with direct w:outlineLvl', async () => {
    const children = [
      new Paragraph({ text: 'Master Services Agreement', heading: HeadingLevel.HEADING_1 }),
      plain('This agreement is made on 1 March 2026 between Northwind Ltd. and Contoso plc.'),
    ];
    for (const [i, name] of CLAUSES.entries()) {
      children.push(bold(`${i + 1}. ${name}`, { outlineLevel: 0 }));
      children.push(...prose(3_000, name.toLowerCase()));
      children.push(bold(`${i + 1}.1 ${name}: details`, { outlineLevel: 1 }));
      children.push(...prose(3_000, `${name.toLowerCase()} detail`));
    }
    children.push(new Paragraph({ text: 'Schedule 1 – Fees', heading: HeadingLevel.HEADING_1 }));
    children.push(...prose(2_000, 'fee'));
    const buf = await build(children);
    // The outline level is on the paragraph itself (no heading style carries it).
    expect(documentXml(buf)).toMatch(/<w:pPr><w:outlineLvl w:val="0"\/><\/w:pPr><w:r><w:rPr><w:b\/>/);

    const sections = await split(buf);
    const total = sections.reduce((n, s) => n + s.text.length, 0);
    expect(total).toBeGreaterThan(260_000);
    expect(sections.map((s) => s.title)).toEqual([
      'Master Services Agreement',
      ...CLAUSES.flatMap((name, i) => [`${i + 1}. ${name}`, `${i + 1}.1 ${name}: details`]),
      'Schedule 1 – Fees',
    ]);
    expect(sections.map((s) => s.level).slice(1, 4)).toEqual([1, 2, 1]);
    expect(Math.max(...sections.map((s) => s.text.length))).toBeLessThan(MAX_SECTION_CHARS);
  });

  it('reads an outline level through a custom style and the style based on it', async () => {
    const styles = (outlineLevel?: number): IStylesOptions => ({
      paragraphStyles: [
        {
          id: 'ClauseTitle',
          name: 'Clause Title',
          basedOn: 'Normal',
          run: { bold: true, size: 28 },
          paragraph: outlineLevel === undefined ? {} : { outlineLevel },
        },
        { id: 'ClauseTitleRed', name: 'Clause Title Red', basedOn: 'ClauseTitle', run: { color: 'C00000' } },
      ],
    });
    const children = () => [
      new Paragraph({ text: 'Work to be done', style: 'ClauseTitle' }),
      plain('The contractor paints the hall and the two stairwells.'),
      new Paragraph({ text: 'Acceptance of the work', style: 'ClauseTitleRed' }),
      plain('The owner inspects the work within five days.'),
      new Paragraph({ text: 'Fees and invoices', style: 'ClauseTitle' }),
      plain('The fee is due thirty days after acceptance.'),
    ];
    const outlined = await build(children(), styles(1));
    expect(new TextDecoder().decode(unzipSync(outlined)['word/styles.xml']!)).toContain(
      '<w:outlineLvl w:val="1"/>',
    );
    const sections = await split(outlined);
    expect(sections.map((s) => [s.title, s.level])).toEqual([
      ['Work to be done', 2],
      ['Acceptance of the work', 2],
      ['Fees and invoices', 2],
    ]);
    // The same document without the outline level has no headings: one section, titled by its first line.
    const unstyled = await split(await build(children(), styles()));
    expect(unstyled.map((s) => s.title)).toEqual(['Work to be done']);
  });

  it('makes one section of outline-level cover-page lines, titled by the first', async () => {
    const buf = await build([
      bold('Ministry of Housing', { outlineLevel: 0 }),
      bold('FINAL DRAFT', { outlineLevel: 0 }),
      bold('Land policy for social integration', { outlineLevel: 0 }),
      bold('December 2014', { outlineLevel: 0 }),
      bold('Towards a fair city', { outlineLevel: 0 }),
      plain('Cities grow unequal when land is scarce and prices rise faster than incomes.'),
      bold('1. Diagnosis'),
      plain('Half of the new housing is built on the edge of the city.'),
      bold('Measures', { outlineLevel: 0 }),
      plain('The state buys land near transport and leases it for mixed housing.'),
    ]);
    const sections = await split(buf);
    expect(sections.map((s) => s.title)).toEqual([
      'Ministry of Housing',
      'Towards a fair city',
      '1. Diagnosis',
      'Measures',
    ]);
    expect(sections[0]!.text).toBe(
      'Ministry of Housing\nFINAL DRAFT\nLand policy for social integration\nDecember 2014',
    );
  });

  it('ignores one stray outline level among bold numbered headings', async () => {
    const sections = await split(
      await build([
        bold('1. Purpose'),
        plain('These rules say how the board approves degrees.'),
        new Paragraph({ children: [new TextRun('3.6 Faculty rules of procedure.')], outlineLevel: 2 }),
        plain('The faculty adopts its own rules.'),
        bold('2. Approval'),
        plain('The board approves the list each term.'),
      ]),
    );
    expect(sections.map((s) => s.title)).toEqual(['1. Purpose', '2. Approval']);
  });
});

describe('bold numbered headings', () => {
  it('splits a 200,000-character document with two heading styles at its bold numbered lines', async () => {
    const children = [
      new Paragraph({ text: 'Framework agreement', heading: HeadingLevel.HEADING_1 }),
      ...prose(1_000, 'general'),
    ];
    const headings: string[] = [];
    for (const [i, name] of CLAUSES.slice(0, 30).entries()) {
      const roman = ['I', 'II', 'III', 'IV', 'V'][i % 5];
      const title =
        i % 3 === 0 ? `Article ${i + 1} – ${name}` : i % 3 === 1 ? `${roman}. ${name}` : `${i + 1}. ${name}`;
      headings.push(title);
      children.push(bold(title), ...prose(6_500, name.toLowerCase()));
    }
    children.push(
      new Paragraph({ text: 'Annex', heading: HeadingLevel.HEADING_1 }),
      ...prose(1_000, 'annex'),
    );
    const sections = await split(await build(children));
    expect(sections.reduce((n, s) => n + s.text.length, 0)).toBeGreaterThan(200_000);
    expect(sections.map((s) => s.title)).toEqual(['Framework agreement', ...headings, 'Annex']);
  });

  it('keeps abbreviations, decimals and initials near headings in the body', async () => {
    const sections = await split(
      await build([
        bold('1. Scope'),
        plain('The plan covers e.g. the site in Fig. 3 vs. the old one'),
        plain('No. 4 applies to all sites.'),
        plain('Fig. 3 Site layout'),
        plain('A. Smith approved it on 3 May.'),
        bold('Sec. 2 Approval'),
        plain('U.S. Department of Justice rules apply, i.e. 28 C.F.R. § 58.6.'),
        plain('3.5 m is the budget.'),
        bold('2. Costs (approx. 3.5 m)'),
        plain('Total: 3.5 m vs. 4.1 m planned, cf. Art. 5 of the grant.'),
      ]),
    );
    expect(sections.map((s) => [s.title, s.level])).toEqual([
      ['1. Scope', 1],
      ['Sec. 2 Approval', 1],
      ['2. Costs (approx. 3.5 m)', 1],
    ]);
    expect(sections[0]!.text).toContain('Fig. 3 Site layout');
  });
});
