/** S3ObjectStore against a real S3-compatible server (versitygw over a temporary directory). */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3TestServer, startS3Server } from '../../test/s3-server.ts';
import { joinKey, parseS3Url, S3ObjectStore } from './s3.ts';

let server: S3TestServer;
const stores: S3ObjectStore[] = [];

beforeAll(async () => {
  server = await startS3Server();
}, 20 * 60_000); // the first run may build versitygw

afterAll(async () => {
  for (const store of stores) store.destroy();
  await server?.stop();
});

function storeFor(bucket: string, prefix = 'prism'): S3ObjectStore {
  const store = new S3ObjectStore({
    bucket,
    prefix,
    region: server.region,
    endpoint: server.endpoint,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  stores.push(store);
  return store;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('S3ObjectStore', () => {
  it('round-trips a small body through put, get and stream', async () => {
    const store = storeFor(server.bucket);
    await store.put('uploads/r1/original.docx', 'hello, S3', 'text/plain');
    expect((await store.get('uploads/r1/original.docx')).toString()).toBe('hello, S3');
    expect((await collect(await store.stream('uploads/r1/original.docx'))).toString()).toBe('hello, S3');

    const head = await store.client.send(
      new HeadObjectCommand({ Bucket: server.bucket, Key: 'prism/uploads/r1/original.docx' }),
    );
    expect(head.ContentType).toBe('text/plain');
    // The server keeps it as a file under its bucket directory, under the prefix.
    expect(await readFile(join(server.dir, server.bucket, 'prism/uploads/r1/original.docx'), 'utf8')).toBe(
      'hello, S3',
    );
  });

  it('round-trips a 20 MB body as a multipart upload', async () => {
    const store = storeFor(server.bucket);
    const body = randomBytes(20 * 1024 * 1024);
    await store.put('big/blob.bin', body);

    const head = await store.client.send(
      new HeadObjectCommand({ Bucket: server.bucket, Key: 'prism/big/blob.bin' }),
    );
    expect(head.ContentLength).toBe(body.length);
    // A multipart object's ETag is "<md5 of part md5s>-<part count>": 20 MB in 8 MB parts is 3.
    expect(head.ETag).toMatch(/-3"?$/);

    expect((await store.get('big/blob.bin')).equals(body)).toBe(true);
    expect((await collect(await store.stream('big/blob.bin'))).equals(body)).toBe(true);
  });

  it('overwrites an object in place', async () => {
    const store = storeFor(server.bucket);
    await store.put('twice.txt', 'first');
    await store.put('twice.txt', new TextEncoder().encode('second'));
    expect((await store.get('twice.txt')).toString()).toBe('second');
  });

  it('keeps keys with spaces and unicode', async () => {
    const store = storeFor(server.bucket);
    const key = 'Logs and data/20261122_101500_Q3 report/Rapport – été ✓ 報告.json';
    await store.put(key, '{"ok":true}', 'application/json');
    expect((await store.get(key)).toString()).toBe('{"ok":true}');
    expect((await collect(await store.stream(key))).toString()).toBe('{"ok":true}');
    expect(await readFile(join(server.dir, server.bucket, 'prism', key), 'utf8')).toBe('{"ok":true}');
    expect(store.locate(key)).toBe(`s3://${server.bucket}/prism/${key}`);
  });

  it('reports a missing object like a missing file', async () => {
    const store = storeFor(server.bucket);
    await expect(store.get('nothing/here.docx')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(store.stream('nothing/here.docx')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('check() passes for the bucket and fails for a missing one', async () => {
    await expect(storeFor(server.bucket).check()).resolves.toBeUndefined();
    await expect(storeFor('no-such-bucket-here').check()).rejects.toThrow();
  });

  it('check() fails with wrong credentials', async () => {
    const store = new S3ObjectStore({
      bucket: server.bucket,
      prefix: '',
      region: server.region,
      endpoint: server.endpoint,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: 'wrong-secret' },
    });
    stores.push(store);
    await expect(store.check()).rejects.toThrow();
  });

  it('works at the bucket root (no prefix)', async () => {
    const store = storeFor(server.bucket, '');
    await store.put('root.txt', 'at the root');
    expect(store.locate('root.txt')).toBe(`s3://${server.bucket}/root.txt`);
    expect(await readFile(join(server.dir, server.bucket, 'root.txt'), 'utf8')).toBe('at the root');
  });

  it('refuses keys that leave the prefix', async () => {
    const store = storeFor(server.bucket);
    for (const key of ['../escape.txt', 'a/../../escape.txt', '/absolute.txt', '', '.', 'dir/']) {
      expect(() => store.locate(key), key).toThrow(/escapes/);
      await expect(store.put(key, 'x'), key).rejects.toThrow(/escapes/);
    }
  });
});

describe('parseS3Url and joinKey', () => {
  it('parses bucket and prefix', () => {
    expect(parseS3Url('s3://prism-data/objects')).toEqual({ bucket: 'prism-data', prefix: 'objects' });
    expect(parseS3Url('s3://prism-data/a/b/')).toEqual({ bucket: 'prism-data', prefix: 'a/b' });
    expect(parseS3Url('s3://prism-data')).toEqual({ bucket: 'prism-data', prefix: '' });
    expect(parseS3Url('s3://prism-data/')).toEqual({ bucket: 'prism-data', prefix: '' });
  });

  it('refuses malformed URLs', () => {
    for (const url of ['s3://', 'http://bucket/x', 's3://Upper_Case/x', 's3://b/x', 's3://bucket/../x']) {
      expect(() => parseS3Url(url), url).toThrow();
    }
  });

  it('joins keys under the prefix and normalizes them', () => {
    expect(joinKey('p', 'a/b.txt')).toBe('p/a/b.txt');
    expect(joinKey('p', 'a//b/./c.txt')).toBe('p/a/b/c.txt');
    expect(joinKey('', 'a.txt')).toBe('a.txt');
    expect(joinKey('p', 'a/../b.txt')).toBe('p/b.txt');
    expect(() => joinKey('p', 'a/../../b.txt')).toThrow(/escapes/);
  });
});
