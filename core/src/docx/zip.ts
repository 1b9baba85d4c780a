/**
 * Reads a zip's entries by really inflating them, with hard caps on the bytes produced. A zip's
 * headers can lie about sizes (a "zip bomb" under-declares them), so the limits are enforced on
 * the inflated output itself, never on what the file claims.
 */
import { inflateRawSync } from 'node:zlib';

export interface ZipLimits {
  maxEntries: number;
  maxEntryBytes: number;
  maxTotalBytes: number;
  /** Inflated/compressed ratio above which an entry over 4 MB is refused (real documents: under 35). */
  maxRatio: number;
  /**
   * A tighter cap for some entries (by name), e.g. the XML parts a parser will load whole. An entry
   * over it is refused as `part` (too large to read, though not a bomb), before it is fully inflated.
   */
  partLimit?: (name: string) => number | undefined;
}

export class ZipError extends Error {
  readonly kind: 'corrupt' | 'bomb' | 'part';
  /** The entry refused, for `part`. */
  readonly entry: string | undefined;
  /** What the zip declares the entry inflates to (it may lie; the cap holds either way). */
  readonly declaredBytes: number | undefined;
  constructor(
    kind: 'corrupt' | 'bomb' | 'part',
    message: string,
    detail: { entry?: string; declaredBytes?: number } = {},
  ) {
    super(message);
    this.kind = kind;
    this.entry = detail.entry;
    this.declaredBytes = detail.declaredBytes;
  }
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function findEndOfCentralDirectory(buf: Buffer): number {
  // The record is 22 bytes plus a comment of up to 65535 bytes, at the very end.
  const stop = Math.max(0, buf.length - 22 - 65535);
  for (let i = buf.length - 22; i >= stop; i -= 1) {
    if (buf.readUInt32LE(i) === EOCD) return i;
  }
  throw new ZipError('corrupt', 'no end of central directory');
}

/** Every entry's name and inflated bytes. Throws ZipError when the zip is damaged or a bomb. */
export function readZip(input: Uint8Array, limits: ZipLimits): Map<string, Buffer> {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length < 22) throw new ZipError('corrupt', 'too short to be a zip');
  const eocd = findEndOfCentralDirectory(buf);
  const count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  if (count > limits.maxEntries) throw new ZipError('bomb', 'too many entries');

  const entries = new Map<string, Buffer>();
  let total = 0;
  for (let i = 0; i < count; i += 1) {
    if (offset + 46 > buf.length || buf.readUInt32LE(offset) !== CENTRAL) {
      throw new ZipError('corrupt', 'damaged central directory');
    }
    const method = buf.readUInt16LE(offset + 10);
    const compressedSize = buf.readUInt32LE(offset + 20);
    const declaredSize = buf.readUInt32LE(offset + 24);
    const nameLength = buf.readUInt16LE(offset + 28);
    const extraLength = buf.readUInt16LE(offset + 30);
    const commentLength = buf.readUInt16LE(offset + 32);
    const localOffset = buf.readUInt32LE(offset + 42);
    const name = buf.toString('utf8', offset + 46, offset + 46 + nameLength);
    offset += 46 + nameLength + extraLength + commentLength;

    if (localOffset + 30 > buf.length || buf.readUInt32LE(localOffset) !== LOCAL) {
      throw new ZipError('corrupt', `damaged entry ${name}`);
    }
    const dataStart =
      localOffset + 30 + buf.readUInt16LE(localOffset + 26) + buf.readUInt16LE(localOffset + 28);
    const dataEnd = dataStart + compressedSize;
    if (dataEnd > buf.length) throw new ZipError('corrupt', `entry ${name} runs past the end of the file`);
    const data = buf.subarray(dataStart, dataEnd);

    // A part over its own cap is refused by what it declares, before any inflating, and otherwise
    // when inflating passes the cap (a zip that under-declares gets no further than the cap).
    const partLimit = limits.partLimit?.(name);
    const tooLargePart = (): ZipError =>
      new ZipError('part', `entry ${name} is larger than ${partLimit} bytes`, {
        entry: name,
        declaredBytes: declaredSize,
      });
    if (partLimit !== undefined && declaredSize > partLimit) throw tooLargePart();

    // Stop inflating as soon as an entry passes what its compressed size makes plausible.
    const plausible = Math.max(4_000_000, compressedSize * limits.maxRatio);
    const bombRoom = Math.min(limits.maxEntryBytes, limits.maxTotalBytes - total, plausible);
    const room = Math.min(bombRoom, partLimit ?? Number.POSITIVE_INFINITY);
    const overflow = (): ZipError =>
      room < bombRoom ? tooLargePart() : new ZipError('bomb', `entry ${name} inflates past the limits`);
    let inflated: Buffer;
    if (method === 0) {
      inflated = data;
    } else if (method === 8) {
      try {
        inflated = inflateRawSync(data, { maxOutputLength: Math.max(1, room) });
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw overflow();
        throw new ZipError('corrupt', `entry ${name} cannot be inflated`);
      }
    } else {
      throw new ZipError('corrupt', `entry ${name} uses an unsupported compression method`);
    }
    if (inflated.length > room) throw overflow();
    total += inflated.length;
    entries.set(name, inflated);
  }
  return entries;
}
