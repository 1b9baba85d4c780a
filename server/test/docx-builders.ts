/**
 * Hostile but valid-looking .docx files for the upload-limit tests and `npm run bench:upload`: a
 * text part of a chosen size made of varied prose (so it deflates about 9:1 like a real report,
 * under the zip-bomb ratio), a document of nothing but headings, and one carrying a VBA project.
 * Built with fflate around a real package the docx library wrote, so everything else is ordinary.
 */
import { Document, HeadingLevel, Packer, Paragraph } from 'docx';
import { strToU8, unzipSync, type Zippable, zipSync } from 'fflate';

const WORDS = (
  'the service review found that alerting on queue depth was missing before release and every ' +
  'customer in the region saw errors for four hours while engineers restarted workers one by one ' +
  'without a runbook so the incident report recommends owners for each dashboard weekly drills ' +
  'clear escalation paths budget for capacity tests and a written rollback plan approved by the ' +
  'board of directors with quarterly audits of backup restores certificates and access rights'
).split(' ');

/** A small PRNG so every run builds the same bytes. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

async function basePackage(): Promise<Record<string, Uint8Array>> {
  const doc = new Document({
    sections: [
      {
        children: [
          new Paragraph({ text: 'Incident report', heading: HeadingLevel.HEADING_1 }),
          new Paragraph('The service was unavailable for four hours.'),
        ],
      },
    ],
  });
  return unzipSync(await Packer.toBuffer(doc));
}

/** Puts `body` (paragraph XML) in place of the document's body, keeping its section properties. */
function withBody(files: Record<string, Uint8Array>, body: string): Zippable {
  const xml = Buffer.from(files['word/document.xml']!).toString('utf8');
  const start = xml.indexOf('<w:body>') + '<w:body>'.length;
  const end = xml.lastIndexOf('<w:sectPr');
  const document = strToU8(xml.slice(0, start) + body + xml.slice(end));
  const out: Zippable = {};
  for (const [name, data] of Object.entries(files)) out[name] = data;
  out['word/document.xml'] = [document, { level: 6 }];
  return out;
}

const heading = (text: string): string =>
  `<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>${text}</w:t></w:r></w:p>`;

/**
 * A report whose `word/document.xml` is at least `xmlBytes` long: a heading every 40 paragraphs,
 * paragraphs of 30-90 words, in runs with some bold, as Word writes them.
 */
export async function bigTextDocx(xmlBytes: number): Promise<{ file: Uint8Array; xmlBytes: number }> {
  const files = await basePackage();
  const next = random(xmlBytes);
  const parts: string[] = [];
  let size = 0;
  for (let p = 0; size < xmlBytes; p += 1) {
    let piece: string;
    if (p % 40 === 0) piece = heading(`Part ${p / 40 + 1}`);
    else {
      const words: string[] = [];
      const count = 30 + Math.floor(next() * 60);
      for (let w = 0; w < count; w += 1) words.push(WORDS[Math.floor(next() * WORDS.length)]!);
      const cut = Math.floor(words.length / 3);
      piece =
        `<w:p><w:pPr><w:spacing w:after="120"/></w:pPr><w:r><w:t xml:space="preserve">${words.slice(0, cut).join(' ')} </w:t></w:r>` +
        `<w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">${words[cut]} </w:t></w:r>` +
        `<w:r><w:t>${words.slice(cut + 1).join(' ')}.</w:t></w:r></w:p>`;
    }
    parts.push(piece);
    size += piece.length;
  }
  const file = zipSync(withBody(files, parts.join('')));
  return { file, xmlBytes: size };
}

/** A small file of `count` Heading 1 paragraphs and nothing else: `count` sections. */
export async function headingsDocx(count: number): Promise<Uint8Array> {
  const files = await basePackage();
  const parts: string[] = [];
  for (let i = 1; i <= count; i += 1) parts.push(heading(`Heading ${i}`));
  return zipSync(withBody(files, parts.join('')));
}

/**
 * An ordinary .docx (plain WordprocessingML content type) that also carries `word/vbaProject.bin`
 * with its relationship from the main part: a macro project Word would offer to run.
 */
export async function vbaDocx(): Promise<Uint8Array> {
  const files = await basePackage();
  const relsPath = 'word/_rels/document.xml.rels';
  const rels = Buffer.from(files[relsPath]!).toString('utf8');
  files[relsPath] = strToU8(
    rels.replace(
      '</Relationships>',
      '<Relationship Id="rIdVba1" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>',
    ),
  );
  // The first bytes of a compound file, as a real vbaProject.bin starts.
  files['word/vbaProject.bin'] = new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0]);
  return zipSync(files);
}
