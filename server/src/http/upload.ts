/**
 * Reads a multipart upload into memory with hard limits. A file over the limit is read to the end
 * and discarded (up to twice the limit) so the client can read the 413 instead of a reset.
 * Each file is written, chunk by chunk as it arrives, into shared memory: the parsing thread gets
 * it without a copy, and no 20 MB copy ever runs on the event loop at once (the first touch of
 * that much fresh memory alone takes ~50 ms on a small VM).
 */
import { PrismError } from '@prism/core';
import busboy from 'busboy';
import type { Request, Response } from 'express';
import type { RateLimits } from '../infra/rate-limit.ts';

export interface UploadedFile {
  name: string;
  /** The file's bytes, over a SharedArrayBuffer. */
  data: Buffer;
}

/** Collects a file's chunks into one SharedArrayBuffer of `max` bytes (pages are used as written). */
class SharedFile {
  private readonly bytes: Uint8Array;
  private length = 0;
  constructor(max: number) {
    this.bytes = new Uint8Array(new SharedArrayBuffer(max));
  }
  /** False once the file would pass `max`. */
  write(chunk: Buffer): boolean {
    if (this.length + chunk.length > this.bytes.length) return false;
    this.bytes.set(chunk, this.length);
    this.length += chunk.length;
    return true;
  }
  get data(): Buffer {
    return Buffer.from(this.bytes.buffer, 0, this.length);
  }
}

export interface Upload {
  files: Record<string, UploadedFile>;
  fields: Record<string, string>;
}

const FILE_FIELDS = new Set(['file', 'guidelines']);

/**
 * Spends one of the person's uploads (60 a minute) before the body is read. Refused: the body is
 * drained and `rate_limited` thrown with Retry-After (two uploads racing for the last allowance:
 * the loser is told when to come back too).
 */
export async function spendUpload(
  limits: RateLimits,
  userId: string,
  req: Request,
  res: Response,
): Promise<void> {
  if (await limits.upload(userId)) return;
  const spent = await limits.uploadsSpent(userId);
  res.setHeader('retry-after', String(spent?.retryAfterS ?? 60));
  req.resume();
  throw new PrismError('rate_limited', 'Too many uploads in the last minute; wait a moment.');
}

export function readUpload(req: Request, maxBytes: number): Promise<Upload> {
  return new Promise((resolve, reject) => {
    if (!req.is('multipart/form-data')) {
      reject(new PrismError('invalid', 'Upload the document as multipart/form-data with a "file" field.'));
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooLarge = (): PrismError =>
      new PrismError(
        'too_large',
        `The file is larger than the ${Math.round(maxBytes / 1024 / 1024)} MB limit.`,
      );
    if (declared > maxBytes * 2 + 64 * 1024) {
      req.resume();
      reject(tooLarge());
      return;
    }

    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fileSize: maxBytes, files: 2, fields: 10, fieldSize: 64 * 1024, parts: 12 },
      });
    } catch {
      reject(new PrismError('invalid', 'The upload is not valid multipart/form-data.'));
      return;
    }

    const files: Record<string, UploadedFile> = {};
    const fields: Record<string, string> = {};
    let overLimit = false;
    let received = 0;
    let settled = false;
    const settle = (error?: PrismError): void => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve({ files, fields });
    };

    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes * 2 + 64 * 1024) {
        // Reading further would let anyone stream forever; stop and answer now.
        req.unpipe(parser);
        req.resume();
        settle(tooLarge());
      }
    });

    parser.on('file', (field, stream, info) => {
      if (!FILE_FIELDS.has(field) || files[field]) {
        stream.resume();
        return;
      }
      const file = new SharedFile(maxBytes);
      stream.on('data', (chunk: Buffer) => {
        if (!file.write(chunk)) overLimit = true;
      });
      stream.on('limit', () => {
        overLimit = true;
      });
      stream.on('end', () => {
        if (!overLimit) files[field] = { name: info.filename ?? field, data: file.data };
      });
    });
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('error', () =>
      settle(new PrismError('invalid', 'The upload is not valid multipart/form-data.')),
    );
    // Answer only once the whole request is read: a reply while the client is still sending makes
    // Node close the connection, and the client sees a reset instead of the answer.
    let requestEnded = req.readableEnded;
    let parsed = false;
    const finish = (): void => {
      if (requestEnded && parsed) settle(overLimit ? tooLarge() : undefined);
    };
    req.on('end', () => {
      requestEnded = true;
      finish();
    });
    parser.on('close', () => {
      parsed = true;
      finish();
    });
    req.on('aborted', () => settle(new PrismError('invalid', 'The upload was interrupted.')));
    req.pipe(parser);
  });
}
