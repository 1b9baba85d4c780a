/**
 * The object store behind uploads, guidelines and exports. `file:<dir>` keeps objects as files
 * (key = relative path under dir); other backends (S3) implement the same interface.
 */
import { createReadStream } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { parseS3Url, S3ObjectStore } from './s3.ts';

export interface ObjectStore {
  /** Human-readable location of a key, e.g. an absolute path or s3://bucket/key. */
  locate(key: string): string;
  put(key: string, body: Uint8Array | string, contentType?: string): Promise<void>;
  get(key: string): Promise<Buffer>;
  stream(key: string): Promise<Readable>;
  /** Removes an object; removing one that is not there is not an error. */
  delete(key: string): Promise<void>;
  /** Cheap readiness check used by /ready. */
  check(): Promise<void>;
  /** The keys under `prefix` (a folder ending with `/`), in no particular order. */
  list(prefix: string): Promise<string[]>;
  /** Removes every object under `prefix` (a folder ending with `/`); the number removed. */
  deletePrefix(prefix: string): Promise<number>;
}

export class FileObjectStore implements ObjectStore {
  readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  private path(key: string): string {
    const clean = normalize(key);
    if (isAbsolute(clean) || clean.startsWith('..') || clean.split(sep).includes('..')) {
      throw new Error(`object key escapes the store: ${key}`);
    }
    return join(this.root, clean);
  }

  locate(key: string): string {
    return this.path(key);
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    // Write then rename, so a reader never sees half an object.
    const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temp, body);
    await rename(temp, path);
  }

  async get(key: string): Promise<Buffer> {
    return readFile(this.path(key));
  }

  async stream(key: string): Promise<Readable> {
    const path = this.path(key);
    await access(path);
    return createReadStream(path);
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await access(this.root);
  }

  async list(prefix: string): Promise<string[]> {
    const dir = this.path(prefix);
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries
      .filter((entry) => entry.isFile() && !entry.name.endsWith('.tmp'))
      .map((entry) =>
        join(entry.parentPath, entry.name)
          .slice(this.root.length + 1)
          .split(sep)
          .join('/'),
      );
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.list(prefix);
    await rm(this.path(prefix), { recursive: true, force: true });
    return keys.length;
  }
}

/** Builds the store named by `STORAGE_URL`: `file:<dir>` or `s3://BUCKET/PREFIX`. */
export function createObjectStore(
  url: string,
  options: { region?: string; endpoint?: string | undefined } = {},
): ObjectStore {
  if (url.startsWith('file:')) return new FileObjectStore(url.slice('file:'.length) || '.data/objects');
  if (url.startsWith('s3://')) {
    return new S3ObjectStore({
      ...parseS3Url(url),
      region: options.region ?? 'eu-north-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    });
  }
  throw new Error(`unsupported STORAGE_URL ${url}: use file:<dir> or s3://BUCKET/PREFIX`);
}
