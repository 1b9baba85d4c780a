/**
 * inspectDocx's refusals made by hand: macros wherever a package keeps them, a text part over the
 * size cap (also when the zip lies about it), paragraph and table counts; and the corpus under the
 * limits a server with the default upload limit applies.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { strToU8, type Zippable, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { PrismError } from '../errors.ts';
import { DOCX_LIMITS, type DocxLimits, inspectDocx } from './inspect.ts';

const CORPUS = fileURLToPath(new URL('../../../../shared/corpus/docx/', import.meta.url));
const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
const MAIN = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml';

const contentTypes = (extra = ''): string =>
  '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
  '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
  '<Default Extension="xml" ContentType="application/xml"/>' +
  `<Override PartName="/word/document.xml" ContentType="${MAIN}"/>${extra}</Types>`;

const ROOT_RELS =
  '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
  '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>';

const documentXml = (body: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="${W}"><w:body>${body}</w:body></w:document>`;

const paragraph = (text: string): string => `<w:p><w:r><w:t>${text}</w:t></w:r></w:p>`;

/** A minimal Word package; `files` adds or replaces parts. */
function docx(files: Record<string, string | Uint8Array> = {}, types = contentTypes()): Uint8Array {
  const parts: Zippable = {
    '[Content_Types].xml': strToU8(types),
    '_rels/.rels': strToU8(ROOT_RELS),
    'word/document.xml': strToU8(documentXml(paragraph('Summary of the incident.'))),
  };
  for (const [name, data] of Object.entries(files))
    parts[name] = typeof data === 'string' ? strToU8(data) : data;
  return zipSync(parts);
}

function refusal(buf: Uint8Array, limits?: DocxLimits): PrismError {
  try {
    inspectDocx(buf, 'The document', limits);
  } catch (error) {
    expect(error).toBeInstanceOf(PrismError);
    return error as PrismError;
  }
  throw new Error('the document was accepted');
}

describe('macros anywhere in the package are unsupported_type, saying why', () => {
  const cases: [string, Uint8Array][] = [
    [
      'word/vbaProject.bin with its relationship',
      docx({
        'word/vbaProject.bin': new Uint8Array([0xd0, 0xcf, 0x11, 0xe0]),
        'word/_rels/document.xml.rels':
          '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>',
      }),
    ],
    ['a vbaProject.bin in another folder', docx({ 'customXml/vbaProject.bin': new Uint8Array([1, 2, 3]) })],
    [
      'word/vbaData.xml',
      docx({
        'word/vbaData.xml':
          '<wne:vbaSuppData xmlns:wne="http://schemas.microsoft.com/office/word/2006/wordml"/>',
      }),
    ],
    [
      'only the relationship, in single quotes',
      docx({
        'word/_rels/document.xml.rels':
          "<Relationships xmlns='http://schemas.openxmlformats.org/package/2006/relationships'><Relationship Id='rId9' Type='http://schemas.microsoft.com/office/2006/relationships/wordVbaData' Target='vbaData.xml'/></Relationships>",
      }),
    ],
    [
      'only a VBA content type',
      docx({}, contentTypes('<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>')),
    ],
    [
      'a macro-enabled template content type',
      docx(
        {},
        contentTypes(
          '<Override PartName="/word/glossary/document.xml" ContentType="application/vnd.ms-word.template.macroEnabledTemplate.main+xml"/>',
        ),
      ),
    ],
  ];
  for (const [label, buf] of cases) {
    it(label, () => {
      const error = refusal(buf);
      expect(error.code).toBe('unsupported_type');
      expect(error.message).toMatch(/^Macros were found in the document/);
      expect(error.message).toMatch(/save it as a Word Document \(\.docx\)/);
    });
  }

  it('the same package without them is read', () => {
    expect(inspectDocx(docx()).paragraphs).toBe(1);
  });
});

describe('a text part over the size cap is too_large before it is inflated', () => {
  const limits = { ...DOCX_LIMITS, maxPartBytes: 200_000 };
  const body = Array.from({ length: 6000 }, (_, i) => paragraph(`Paragraph ${i} of the report.`)).join('');

  it('refuses by what the zip declares, naming both sizes', () => {
    const error = refusal(docx({ 'word/document.xml': documentXml(body) }), limits);
    expect(error.code).toBe('too_large');
    expect(error.message).toMatch(/its text \(word\/document\.xml\) unpacks to 0\.4 MB.*at most 0\.2 MB/);
  });

  it('refuses a zip that under-declares the size as too_large too, not as damage', () => {
    const buf = Buffer.from(docx({ 'word/document.xml': documentXml(body) }));
    // Rewrite the central directory's uncompressed size of word/document.xml to 1 KB.
    const name = Buffer.from('word/document.xml');
    for (
      let i = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
      i !== -1;
      i = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), i + 4)
    ) {
      if (buf.subarray(i + 46, i + 46 + name.length).equals(name)) buf.writeUInt32LE(1024, i + 24);
    }
    const error = refusal(buf, limits);
    expect(error.code).toBe('too_large');
    expect(error.message).toMatch(/more than/);
  });

  it('caps every XML part, and names the one over it', () => {
    const styles = `<w:styles xmlns:w="${W}">${'<w:style w:styleId="x"/>'.repeat(20_000)}</w:styles>`;
    const error = refusal(docx({ 'word/styles.xml': styles }), limits);
    expect(error.code).toBe('too_large');
    expect(error.message).toContain('word/styles.xml');
  });
});

describe('paragraphs and tables are counted and capped (too_complex)', () => {
  const limits = { ...DOCX_LIMITS, maxParagraphs: 50, maxTables: 3 };
  const table = `<w:tbl><w:tr><w:tc>${paragraph('cell')}</w:tc></w:tr></w:tbl>`;

  it('counts paragraphs (cells included) and tables, nested ones too', () => {
    const nested = `<w:tbl><w:tr><w:tc>${table}${paragraph('outer')}</w:tc></w:tr></w:tbl>`;
    const info = inspectDocx(docx({ 'word/document.xml': documentXml(paragraph('a') + nested + '<w:p/>') }));
    expect(info).toMatchObject({ mainPart: 'word/document.xml', paragraphs: 4, tables: 2 });
  });

  it('counts under whatever prefix the part binds to WordprocessingML, or none', () => {
    const prefixed = `<ns0:document xmlns:ns0="${W}"><ns0:body><ns0:p><ns0:r><ns0:t>x</ns0:t></ns0:r></ns0:p><ns0:p/></ns0:body></ns0:document>`;
    expect(inspectDocx(docx({ 'word/document.xml': prefixed })).paragraphs).toBe(2);
    const unprefixed = `<document xmlns="${W}"><body><p><r><t>x</t></r></p><tbl><tr><tc><p/></tc></tr></tbl></body></document>`;
    expect(inspectDocx(docx({ 'word/document.xml': unprefixed }))).toMatchObject({
      paragraphs: 2,
      tables: 1,
    });
  });

  it('refuses more paragraphs than the limit, saying how many', () => {
    const many = Array.from({ length: 51 }, (_, i) => paragraph(`line ${i}`)).join('');
    const error = refusal(docx({ 'word/document.xml': documentXml(many) }), limits);
    expect(error.code).toBe('too_complex');
    expect(error.message).toContain('51 paragraphs');
  });

  it('refuses more tables than the limit', () => {
    const error = refusal(docx({ 'word/document.xml': documentXml(table.repeat(4)) }), limits);
    expect(error.code).toBe('too_complex');
    expect(error.message).toContain('4 tables');
  });
});

describe('the corpus under a default server (20 MB uploads: text parts up to 10 MB)', () => {
  const serverLimits = { ...DOCX_LIMITS, maxPartBytes: 10 * 1024 * 1024 };
  const REFUSED = new Set([
    'poi-encrypted-password-pass.docx',
    'poi-word97-doc-named-docm.docx',
    'poi-truncated-zip.docx',
  ]);
  for (const name of readdirSync(CORPUS).filter((file) => file.endsWith('.docx'))) {
    if (REFUSED.has(name)) continue;
    it(`${name} passes inspection`, () => {
      const info = inspectDocx(readFileSync(`${CORPUS}${name}`), 'The document', serverLimits);
      expect(info.paragraphs).toBeGreaterThan(0);
      expect(info.paragraphs).toBeLessThan(DOCX_LIMITS.maxParagraphs / 10);
    });
  }
});
