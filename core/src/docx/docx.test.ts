/** Every real document of the shared corpus either yields sections or a specific, explained refusal. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PrismError } from '../errors.ts';
import { inspectDocx } from './inspect.ts';
import { extractSections } from './sections.ts';

const CORPUS = fileURLToPath(new URL('../../../../shared/corpus/docx/', import.meta.url));
const files = readdirSync(CORPUS).filter((name) => name.endsWith('.docx'));

const REFUSED: Record<string, string> = {
  'poi-encrypted-password-pass.docx': 'encrypted_document',
  'poi-word97-doc-named-docm.docx': 'unsupported_type',
  'poi-truncated-zip.docx': 'corrupt_document',
  'mammoth-empty.docx': 'empty_document',
  'poi-stress012-altchunk-only.docx': 'empty_document',
};

async function ingest(buf: Buffer) {
  inspectDocx(buf);
  return extractSections(buf);
}

describe('the corpus', () => {
  it('has the documents this test expects', () => {
    expect(files.length).toBeGreaterThanOrEqual(25);
  });

  for (const name of files) {
    it(`${name}: ${REFUSED[name] ? `refused with ${REFUSED[name]}` : 'yields sections'}`, async () => {
      const buf = readFileSync(`${CORPUS}${name}`);
      const expected = REFUSED[name];
      if (expected) {
        const error = await ingest(buf).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(PrismError);
        expect((error as PrismError).code).toBe(expected);
        expect((error as PrismError).message.length).toBeGreaterThan(20);
        return;
      }
      const { sections } = await ingest(buf);
      expect(sections.length).toBeGreaterThan(0);
      for (const section of sections) {
        expect(section.title.length).toBeGreaterThan(0);
        expect(section.title.length).toBeLessThanOrEqual(120);
        expect(section.html).not.toMatch(/<script|javascript:|\son\w+=/i);
      }
      expect(sections.some((section) => section.text.length > 0)).toBe(true);
    });
  }

  it('splits a heading-styled report by its headings, levels kept', async () => {
    const { sections } = await ingest(readFileSync(`${CORPUS}pandoc-headers.docx`));
    expect(sections.map((s) => [s.title, s.level])).toEqual([
      ['A Test of Headers', 1],
      ['Second Level', 2],
      ['Third level', 3],
    ]);
  });

  it('keeps table cells apart in section text', async () => {
    const { sections } = await ingest(readFileSync(`${CORPUS}pandoc-tables.docx`));
    expect(sections[0]!.html).toContain('<table>');
    expect(sections[0]!.text).toMatch(/\S \S/);
  });
});

describe('inspection', () => {
  it('refuses an empty file and a non-zip', () => {
    expect(() => inspectDocx(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'empty_document' }));
    expect(() => inspectDocx(Buffer.from('hello, not a document'))).toThrow(
      expect.objectContaining({ code: 'unsupported_type' }),
    );
  });
});

describe('headings people write without styles', () => {
  it('splits at numbered lines, ALL CAPS lines and known section names, keeping numbered depth', async () => {
    const { Document, Packer, Paragraph, TextRun } = await import('docx');
    const p = (text: string) => new Paragraph({ children: [new TextRun(text)] });
    const buf = await Packer.toBuffer(
      new Document({
        sections: [
          {
            children: [
              p('Quarterly incident report'),
              p('EXECUTIVE SUMMARY'),
              p('The service failed twice in March and customers noticed.'),
              p('1. Background'),
              p('The platform moved to a new data centre in January.'),
              p('1.1 Systems affected'),
              p('Payments and the customer portal.'),
              p('Recommendations'),
              p('Add alerting on queue depth by the end of April.'),
              p('1. Make sure every action has an owner.'),
            ],
          },
        ],
      }),
    );
    const { sections, heading } = await ingest(buf);
    expect(heading).toBe('Quarterly incident report');
    expect(sections.map((s) => [s.title, s.level])).toEqual([
      ['Quarterly incident report', 1],
      ['EXECUTIVE SUMMARY', 1],
      ['1. Background', 1],
      ['1.1 Systems affected', 2],
      ['Recommendations', 1],
    ]);
    // A numbered sentence is body text of its section.
    expect(sections.at(-1)!.text).toContain('1. Make sure every action has an owner.');
  });
});
