/**
 * Checks an upload by its bytes before any parser sees it: what it really is (not what its name
 * says), whether it is encrypted or macro-enabled, and whether its zip would explode in memory.
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

const WORD_MAIN = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml';
const WORD_MACRO_MAIN = 'application/vnd.ms-word.document.macroEnabled.main+xml';
const WORD_TEMPLATE_MAIN = 'application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml';

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
}

/**
 * Throws a PrismError with a stable code when `buf` is not a Word document Prism can read.
 * `label` names the file in messages ("The document", "The guidelines").
 */
export function inspectDocx(buf: Uint8Array, label = 'The document'): DocxInfo {
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
    files = readZip(buf, ZIP_LIMITS);
  } catch (error) {
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
  if (!types.includes(WORD_MAIN) && !types.includes(WORD_TEMPLATE_MAIN)) {
    throw new PrismError('unsupported_type', `${label} is an Office file but not a Word document (.docx).`);
  }
  let total = 0;
  for (const data of files.values()) total += data.length;
  return { entries: files.size, uncompressedBytes: total };
}

const tooBig = (label: string): string =>
  `${label} expands to far more data than a real document (a "zip bomb"); it was not opened.`;
