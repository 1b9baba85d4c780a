/**
 * Sections of every accepted document of the shared corpus, printed (title, level, size) so a
 * reader sees them, and checked: no invented title, no section swallowing a long document that has
 * headings, export anchors at the same paragraphs; then the outline-level, bold-numbered and
 * cover-page cases on the real files that have them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Section } from '../protocol.ts';
import { anchorSections, readWordParts } from './anchors.ts';
import { inspectDocx } from './inspect.ts';
import { collapse, countHeadingLines, MAX_SECTION_CHARS } from './outline.ts';
import { extractSections } from './sections.ts';

const CORPUS = fileURLToPath(new URL('../../../../shared/corpus/docx/', import.meta.url));
const files = readdirSync(CORPUS)
  .filter((name) => name.endsWith('.docx'))
  .sort();

/** A document this long is "long": one section must not hold most of it when it has headings. */
const LONG_DOCUMENT_CHARS = 50_000;
/** Largest share of a long document's text one section may hold when headings exist. */
const MAX_SHARE = 0.35;

const read = (name: string) => readFileSync(`${CORPUS}${name}`);

async function accepted(name: string): Promise<Section[] | undefined> {
  const buf = read(name);
  try {
    inspectDocx(buf);
    return (await extractSections(buf)).sections;
  } catch {
    return undefined; // refused at upload: docx.test.ts checks each refusal's code
  }
}

/** The title without the ellipsis a shortened one ends with. */
const titleText = (title: string) => title.replace(/…$/, '');

describe('every corpus document: its sections', () => {
  for (const name of files) {
    it(`${name}`, { timeout: 30_000 }, async () => {
      const sections = await accepted(name);
      if (!sections) return;
      const text = collapse(sections.map((s) => s.text).join('\n'));
      const total = sections.reduce((n, s) => n + s.text.length, 0);
      console.log(
        `\n${name}: ${sections.length} sections, ${total} characters\n` +
          sections
            .map((s) => `  ${String(s.text.length).padStart(7)}  ${'  '.repeat(s.level - 1)}${s.title}`)
            .join('\n'),
      );

      // No invented title: each is words of the document (the section's own first line).
      for (const section of sections) {
        expect(section.title.length).toBeGreaterThan(0);
        expect(text).toContain(titleText(section.title));
        expect(collapse(section.text).startsWith(titleText(section.title))).toBe(true);
      }

      // A long document with headings is not left as one or two huge sections.
      const { doc, styles } = readWordParts(read(name));
      if (total >= LONG_DOCUMENT_CHARS && countHeadingLines(doc, styles) >= 10) {
        const largest = Math.max(...sections.map((s) => s.text.length));
        expect(largest / total).toBeLessThanOrEqual(MAX_SHARE);
      }
    });
  }
});

describe('outline levels, bold numbered lines and cover pages on real files', () => {
  it('a policy paper: its outline-level cover lines are the first section, its outline headings split', async () => {
    const sections = (await accepted('poi-stress018-es-policy-numbered.docx'))!;
    const titles = sections.map((s) => s.title);
    // Direct w:outlineLvl: five cover-page lines in a row, then "HACIA UNA CIUDAD JUSTA".
    expect(titles[0]).toBe('Consejo Nacional de Desarrollo Urbano');
    expect(sections[0]!.text).toContain('BORRADOR FINAL');
    expect(titles[1]).toBe('HACIA UNA CIUDAD JUSTA');
    expect(titles).not.toContain('BORRADOR FINAL');
    expect(titles).not.toContain('Diciembre 2014');
    // A later outline-level line and the bold numbered lines inside long parts start sections.
    expect(titles).toContain('MEDIDA 6');
    expect(titles).toContain('1.1 REGULACIONES PARA INCREMENTAR LA EQUIDAD URBANA');
    // The bold "MEDIDA n" lines split alike everywhere, not only inside the longest parts.
    for (let n = 1; n <= 11; n += 1) expect(titles).toContain(`MEDIDA ${n}`);
  });

  it('a Japanese tender notice: split at its bold full-width numbered lines ("１．")', async () => {
    const titles = (await accepted('poi-stress019-ja-proposal.docx'))!.map((s) => s.title);
    expect(titles).toEqual(
      expect.arrayContaining(['１．委託業務の名称', '２．業務目的', '１１．提案者の失格']),
    );
    expect(titles[0]).toBe('リーダーシップに係る発行運営業務委託');
  });

  it('university rules: the 9 bold numbered headings stay, a style with an outline level used once does not split', async () => {
    const sections = (await accepted('openxmlsdk-regents-rules-numbered.docx'))!;
    expect(sections.map((s) => s.title)).toEqual([
      '1. Title',
      '2. Rule and Regulation',
      '3. Definitions',
      '4. Relevant Federal and State Statutes',
      '5. Relevant System Policies, Procedures, and Forms',
      '6. Who Should Know',
      '7. System Administration Office(s) Responsible for Rule',
      '8. Dates Approved or Amended',
      '9. Contact Information',
    ]);
    // "SubsectionHeading" has outline level 3 through styles.xml and is used on this line only.
    expect(sections[1]!.text).toContain('3.6 Faculty rules of procedure.');
  });

  it('the 872-page handbook: heading styles kept, the unstyled second half split at its written headings', async () => {
    const sections = (await accepted('unstructured-handbook-872p.docx'))!;
    const titles = sections.map((s) => s.title);
    // Before: 295 sections, one of them 408,478 characters (half the handbook has no styles).
    expect(Math.max(...sections.map((s) => s.text.length))).toBeLessThan(MAX_SECTION_CHARS * 1.5);
    expect(titles[0]).toBe('U.S. Department of Justice');
    expect(titles).toContain('CHAPTER 1 – INTRODUCTION');
    expect(titles.filter((t) => t === '2. REMEDIAL AND ENFORCEMENT ACTIONS').length).toBeGreaterThanOrEqual(
      3,
    );
    // Typed table-of-contents lines ("A. PURPOSE1-1") are text, not one-line sections.
    expect(titles.some((t) => /\d-\d+$/.test(t))).toBe(false);
  });

  it('a UN report whose heading styles leave 144,000 characters in one section is split at its numbered lines', async () => {
    const sections = (await accepted('openxmlsdk-wgig-background-report.docx'))!;
    expect(Math.max(...sections.map((s) => s.text.length))).toBeLessThan(30_000);
    expect(sections.map((s) => s.title)).toContain('2. Physical and secured infrastructure');
    // The annex's list of members (a bold name, then one line each) is not 40 sections.
    expect(sections.filter((s) => s.text.length < 300).length).toBeLessThan(8);
  });

  it('export anchors start at the same paragraphs with the same titles', async () => {
    for (const name of ['poi-stress018-es-policy-numbered.docx', 'unstructured-handbook-872p.docx']) {
      const sections = (await accepted(name))!;
      expect(anchorSections(read(name)).map((a) => a.title)).toEqual(sections.map((s) => s.title));
    }
  });
});
