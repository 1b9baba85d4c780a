/**
 * Checks an upload by its bytes before any parser sees it: what it really is (not what its name
 * says), whether it is encrypted or carries macros, whether its zip would explode in memory, and
 * whether its text part is small and simple enough to parse within Prism's limits.
 */
import { PrismError } from '../errors.ts';
import { readZip, ZipError } from './zip.ts';

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const CFB_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

/** Zip-bomb limits; a real report is far below each. */
export const ZIP_LIMITS = {
  maxEntries: 5000,
  maxEntryBytes: 100 * 1024 * 1024,
  maxTotalBytes: 300 * 1024 * 1024,
  maxRatio: 60,
} as const;

/**
 * What one document may hold, checked before it is parsed; the server derives `maxPartBytes` from
 * its upload limit. Parsing cost grows with these (mammoth builds a tree of the whole text part):
 * the 872-page handbook of the corpus is 5.3 MB of XML, 8,152 paragraphs and 2 tables and takes
 * about 300 MB of heap and 1-5 s to split.
 */
export interface DocxLimits {
  /** Largest XML part, inflated (word/document.xml above all): a parser loads each whole. */
  maxPartBytes: number;
  /** Paragraphs in the main part (tables' cells included): 12 times the handbook's. */
  maxParagraphs: number;
  /** Tables in the main part, nested ones included: the corpus's most is 9. */
  maxTables: number;
}

export const DOCX_LIMITS: DocxLimits = {
  maxPartBytes: ZIP_LIMITS.maxEntryBytes,
  maxParagraphs: 100_000,
  maxTables: 2_000,
};

const WORD_MAIN = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml';
const WORD_MACRO_MAIN = 'application/vnd.ms-word.document.macroEnabled.main+xml';
const WORD_TEMPLATE_MAIN = 'application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml';
const WORD_NAMESPACES = [
  'http://schemas.openxmlformats.org/wordprocessingml/2006/main',
  'http://purl.oclc.org/ooxml/wordprocessingml/main',
];
/** Parts and relationships of a VBA project: Word runs its macros when the file is opened. */
const MACRO_PART = /(^|\/)(vbaProject\.bin|vbaData\.xml)$/i;
const MACRO_RELATIONSHIP = /Type\s*=\s*["'][^"']*\/(vbaProject|wordVbaData|vbaProjectSignature)["']/i;
/** Every macro-enabled Office content type says so (`macroEnabled`), or names a VBA part. */
const MACRO_CONTENT_TYPE = /macroEnabled|vnd\.ms-office\.vbaProject|vnd\.ms-word\.vbaData/i;

const startsWith = (buf: Uint8Array, magic: number[]): boolean =>
  buf.length >= magic.length && magic.every((byte, i) => buf[i] === byte);

/** UTF-16LE needle search: CFB directory entries store stream names that way. */
function containsUtf16(buf: Uint8Array, text: string): boolean {
  const needle = Buffer.from(text, 'utf16le');
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).indexOf(needle) !== -1;
}

export interface DocxInfo {
  entries: number;
  uncompressedBytes: number;
  /** The main part's path and inflated size, and what it holds. */
  mainPart: string;
  mainPartBytes: number;
  paragraphs: number;
  tables: number;
}

const mb = (bytes: number): string => {
  const n = bytes / 1024 / 1024;
  return `${n < 10 ? Math.round(n * 10) / 10 : Math.round(n)} MB`;
};
const count = (n: number): string => n.toLocaleString('en-US');
/** "The document" -> "the document", for the middle of a sentence. */
const lower = (label: string): string => label.charAt(0).toLowerCase() + label.slice(1);

/**
 * Throws a PrismError with a stable code when `buf` is not a Word document Prism can read, or is
 * one larger or more complex than `limits` allow (`too_large`, `too_complex`). `label` names the
 * file in messages ("The document", "The guidelines").
 */
export function inspectDocx(
  buf: Uint8Array,
  label = 'The document',
  limits: DocxLimits = DOCX_LIMITS,
): DocxInfo {
  if (buf.length === 0) throw new PrismError('empty_document', `${label} is an empty file.`);
  if (startsWith(buf, CFB_MAGIC)) {
    if (containsUtf16(buf, 'EncryptionInfo') || containsUtf16(buf, 'EncryptedPackage')) {
      throw new PrismError(
        'encrypted_document',
        `${label} is protected with a password. Remove the password in Word (File > Info > Protect Document) and upload it again.`,
      );
    }
    throw new PrismError(
      'unsupported_type',
      `${label} is an old Word 97-2003 (.doc) file. Save it as a Word Document (.docx) and upload it again.`,
    );
  }
  if (!startsWith(buf, ZIP_MAGIC)) {
    throw new PrismError('unsupported_type', `${label} is not a Word document (.docx).`);
  }

  let files: Map<string, Buffer>;
  try {
    files = readZip(buf, {
      ...ZIP_LIMITS,
      partLimit: (name) => (/\.(xml|rels)$/i.test(name) ? limits.maxPartBytes : undefined),
    });
  } catch (error) {
    if (error instanceof ZipError && error.kind === 'part') throw partTooLarge(label, error, limits);
    if (error instanceof ZipError && error.kind === 'bomb')
      throw new PrismError('corrupt_document', tooBig(label));
    throw new PrismError('corrupt_document', `${label} is damaged (its zip structure cannot be read).`);
  }
  const contentTypes = files.get('[Content_Types].xml');
  if (!contentTypes) {
    throw new PrismError('unsupported_type', `${label} is a zip file but not a Word document (.docx).`);
  }
  const types = Buffer.from(contentTypes).toString('utf8');
  if (types.includes(WORD_MACRO_MAIN)) {
    throw new PrismError(
      'unsupported_type',
      `${label} is a macro-enabled Word file (.docm). Save it as a Word Document (.docx) without macros.`,
    );
  }
  refuseMacros(label, files, types);
  if (!types.includes(WORD_MAIN) && !types.includes(WORD_TEMPLATE_MAIN)) {
    throw new PrismError('unsupported_type', `${label} is an Office file but not a Word document (.docx).`);
  }

  const mainPart = mainPartOf(files);
  const main = files.get(mainPart);
  const xml = main ? main.toString('utf8') : '';
  const prefix = wordPrefix(xml).replace(/[.-]/g, '\\$&');
  const paragraphs = occurrences(xml, new RegExp(`<${prefix}p[\\s/>]`, 'g'));
  const tables = occurrences(xml, new RegExp(`<${prefix}tbl[\\s/>]`, 'g'));
  if (paragraphs > limits.maxParagraphs) {
    throw new PrismError(
      'too_complex',
      `There are ${count(paragraphs)} paragraphs in ${lower(label)}; Prism reads at most ${count(limits.maxParagraphs)}. Split it into smaller documents and upload them one by one.`,
    );
  }
  if (tables > limits.maxTables) {
    throw new PrismError(
      'too_complex',
      `There are ${count(tables)} tables in ${lower(label)}; Prism reads at most ${count(limits.maxTables)}. Split it into smaller documents and upload them one by one.`,
    );
  }
  let total = 0;
  for (const data of files.values()) total += data.length;
  return {
    entries: files.size,
    uncompressedBytes: total,
    mainPart,
    mainPartBytes: main?.length ?? 0,
    paragraphs,
    tables,
  };
}

/** A VBA project anywhere in the package, or a relationship or content type that names one. */
function refuseMacros(label: string, files: Map<string, Buffer>, types: string): void {
  const why = (what: string): PrismError =>
    new PrismError(
      'unsupported_type',
      `Macros were found in ${lower(label)} (${what}): Word can run them when the file is opened, so Prism does not accept it. In Word, save it as a Word Document (.docx), which removes them, and upload it again.`,
    );
  for (const name of files.keys()) {
    if (MACRO_PART.test(name)) throw why(`a VBA project, ${name}`);
  }
  if (MACRO_CONTENT_TYPE.test(types)) throw why('a macro-enabled content type in [Content_Types].xml');
  for (const [name, data] of files) {
    if (/\.rels$/i.test(name) && MACRO_RELATIONSHIP.test(data.toString('utf8'))) {
      throw why(`a relationship to a VBA project in ${name}`);
    }
  }
}

/** The main part named by the package's relationships (normally word/document.xml). */
function mainPartOf(files: Map<string, Buffer>): string {
  const rels = files.get('_rels/.rels')?.toString('utf8') ?? '';
  for (const tag of rels.match(/<(\w+:)?Relationship\s[^>]*>/g) ?? []) {
    const type = /\sType\s*=\s*["']([^"']*)["']/.exec(tag)?.[1] ?? '';
    const target = /\sTarget\s*=\s*["']([^"']*)["']/.exec(tag)?.[1];
    if (target && type.endsWith('/officeDocument')) {
      const path = target.replace(/^\/+/, '');
      if (files.has(path)) return path;
    }
  }
  return 'word/document.xml';
}

/** The prefix (with its colon) the main part binds to WordprocessingML, "" when it is the default. */
function wordPrefix(xml: string): string {
  const root = /<(?![?!])[^>]*>/.exec(xml)?.[0] ?? '';
  for (const match of root.matchAll(/\sxmlns(?::([\w.-]+))?\s*=\s*["']([^"']*)["']/g)) {
    if (WORD_NAMESPACES.includes(match[2]!)) return match[1] ? `${match[1]}:` : '';
  }
  return 'w:';
}

function occurrences(text: string, pattern: RegExp): number {
  let n = 0;
  while (pattern.exec(text)) n += 1;
  return n;
}

function partTooLarge(label: string, error: ZipError, limits: DocxLimits): PrismError {
  const size =
    error.declaredBytes && error.declaredBytes > limits.maxPartBytes ? mb(error.declaredBytes) : undefined;
  const what =
    error.entry === 'word/document.xml' ? 'its text (word/document.xml)' : `its part ${error.entry}`;
  return new PrismError(
    'too_large',
    `${label} cannot be read: ${what} unpacks to ${size ?? `more than ${mb(limits.maxPartBytes)}`}, and Prism reads at most ${mb(limits.maxPartBytes)}. Split it into smaller documents and upload them one by one.`,
  );
}

const tooBig = (label: string): string =>
  `${label} expands to far more data than a real document (a "zip bomb"); it was not opened.`;
