/**
 * The S3 object store (`STORAGE_URL=s3://BUCKET/PREFIX`): AWS S3, or any S3-compatible server
 * reached through `S3_ENDPOINT_URL` (path-style addressing then). Uploads stream through
 * lib-storage, which switches to a multipart upload for bodies over one part.
 */
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  paginateListObjectsV2,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ObjectStore } from './objects.ts';

/** Multipart part size: S3's minimum is 5 MB; 8 MB keeps a 20 MB upload at three parts. */
export const S3_PART_SIZE = 8 * 1024 * 1024;

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slashes; '' for the bucket root. */
  prefix: string;
}

export interface S3ObjectStoreOptions extends S3Location {
  region: string;
  /** An S3-compatible endpoint (versitygw, MinIO, a VPC endpoint); switches to path-style URLs. */
  endpoint?: string;
  /** Static credentials; without them the SDK's default chain resolves them (env, profile, role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Per-request inactivity timeout in ms (default 60 s). */
  requestTimeoutMs?: number;
}

// S3 bucket names: 3-63 characters of lowercase letters, digits, dots and hyphens.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses `s3://BUCKET/PREFIX` (the prefix is optional). Throws on anything else. */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/?#]+)(?:\/([^?#]*))?$/.exec(url.trim());
  if (!match) throw new Error(`invalid S3 URL ${url}: expected s3://BUCKET/PREFIX`);
  const bucket = match[1]!;
  if (!BUCKET.test(bucket)) throw new Error(`invalid S3 bucket name "${bucket}" in ${url}`);
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '..' || part === '.')) {
    throw new Error(`invalid S3 prefix "${prefix}" in ${url}: no . or .. segments`);
  }
  return { bucket, prefix };
}

/** Joins a relative object key under a prefix; refuses keys that would leave it. */
export function joinKey(prefix: string, key: string): string {
  if (key.includes('\0')) throw new Error(`object key escapes the store: ${key}`);
  const clean = posix.normalize(key);
  if (
    clean === '.' ||
    clean === '' ||
    posix.isAbsolute(clean) ||
    clean.split('/').includes('..') ||
    clean.endsWith('/')
  ) {
    throw new Error(`object key escapes the store: ${key}`);
  }
  return prefix ? `${prefix}/${clean}` : clean;
}

const errorName = (error: unknown): string | undefined =>
  (error as { name?: string; Code?: string } | undefined)?.name;

/** A missing object reads like a missing file (`code: 'ENOENT'`), whichever store is behind. */
function notFound(error: unknown, location: string): unknown {
  const name = errorName(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return Object.assign(new Error(`no object at ${location}`, { cause: error }), { code: 'ENOENT' });
  }
  return error;
}

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix.replace(/^\/+|\/+$/g, '');
    const config: S3ClientConfig = {
      region: options.region,
      credentials: options.credentials,
      requestHandler: { requestTimeout: options.requestTimeoutMs ?? 60_000, connectionTimeout: 10_000 },
      maxAttempts: 3,
    };
    if (options.endpoint) {
      config.endpoint = options.endpoint;
      config.forcePathStyle = true;
      // Not every S3-compatible server understands the SDK's default trailing (aws-chunked) checksums.
      config.requestChecksumCalculation = 'WHEN_REQUIRED';
      config.responseChecksumValidation = 'WHEN_REQUIRED';
    }
    this.client = new S3Client(config);
  }

  /** The full S3 key of an object key. */
  key(key: string): string {
    return joinKey(this.prefix, key);
  }

  locate(key: string): string {
    return `s3://${this.bucket}/${this.key(key)}`;
  }

  async put(key: string, body: Uint8Array | string, contentType?: string): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: this.key(key),
        Body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
        ContentType: contentType ?? 'application/octet-stream',
      },
      partSize: S3_PART_SIZE,
      queueSize: 4,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  private async object(key: string): Promise<GetObjectCommandOutput> {
    const full = this.key(key);
    try {
      return await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: full }));
    } catch (error) {
      throw notFound(error, `s3://${this.bucket}/${full}`);
    }
  }

  async get(key: string): Promise<Buffer> {
    const { Body } = await this.object(key);
    if (!Body) return Buffer.alloc(0);
    const bytes = await Body.transformToByteArray();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async stream(key: string): Promise<Readable> {
    const { Body } = await this.object(key);
    if (!Body) return Readable.from([]);
    // In Node the SDK's body is an http.IncomingMessage (a Readable) mixed with SDK helpers.
    if (Body instanceof Readable) return Body;
    return Readable.fromWeb(Body.transformToWebStream() as Parameters<typeof Readable.fromWeb>[0]);
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
  }

  async list(prefix: string): Promise<string[]> {
    const full = `${this.key(prefix.replace(/\/+$/, ''))}/`;
    const skip = this.prefix ? this.prefix.length + 1 : 0;
    const keys: string[] = [];
    for await (const page of paginateListObjectsV2(
      { client: this.client },
      { Bucket: this.bucket, Prefix: full },
    )) {
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key.slice(skip));
    }
    return keys;
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.list(prefix);
    // One request per object: plain DeleteObject works on every S3-compatible server.
    for (let start = 0; start < keys.length; start += 16) {
      await Promise.all(keys.slice(start, start + 16).map((key) => this.delete(key)));
    }
    return keys.length;
  }

  /** Closes the client's sockets. */
  destroy(): void {
    this.client.destroy();
  }
}
