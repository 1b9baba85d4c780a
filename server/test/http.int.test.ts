/**
 * The HTTP surface (CONTRACT section 3): the session route and its cookie, uploads and every way
 * an upload can be wrong, cross-site writes, unknown routes. Every error is
 * `{"error":{"code","message"}}`, and a refused upload stores nothing at all.
 */

import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { Agent, get as getHttp } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, unzipSync, Zip, ZipDeflate, zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  cleanupKeys,
  corpus,
  makeDocx,
  onCleanup,
  session,
  startServer,
  type TestServer,
  uniquePrefix,
  upload,
} from '../../test/helpers.ts';

const PUBLIC_URL = 'http://prism.test';
const MB = 1024 * 1024;
const WORD_MAIN = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml';
const WORD_MACRO_MAIN = 'application/vnd.ms-word.document.macroEnabled.main+xml';

type Person = { user: { id: string; name: string }; token: string };

/** Checks the status and that the body is exactly `{"error":{"code","message"}}`, as JSON. */
async function expectError(res: Response, status: number, code: string): Promise<void> {
  const text = await res.text();
  expect({ status: res.status, body: text.slice(0, 300) }).toMatchObject({ status });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
  expect(body.error.message.trim().length).toBeGreaterThan(0);
}

const postSession = (
  url: string,
  body: NonNullable<RequestInit['body']>,
  headers: Record<string, string> = {},
): Promise<Response> =>
  fetch(`${url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

/** Joins the pieces a streaming zip writer hands out. */
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * A zip whose `big` entries are `bytes` of zeros, deflated chunk by chunk so the test never holds
 * them in memory; `small` entries are stored as given.
 */
function zeroZip(small: Record<string, Uint8Array>, big: { name: string; bytes: number }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const zip = new Zip((error, data) => {
    if (error) throw error;
    parts.push(data);
  });
  for (const [name, data] of Object.entries(small)) {
    const file = new ZipDeflate(name);
    zip.add(file);
    file.push(data, true);
  }
  const chunk = new Uint8Array(MB);
  for (const entry of big) {
    const file = new ZipDeflate(entry.name, { level: 6 });
    zip.add(file);
    for (let left = entry.bytes; left > 0; ) {
      const n = Math.min(left, chunk.length);
      left -= n;
      file.push(n === chunk.length ? chunk : chunk.subarray(0, n), left === 0);
    }
  }
  zip.end();
  return concat(parts);
}

/** Rewrites the uncompressed size that the local and central headers declare for `name` (a lying zip). */
function declareSize(zip: Uint8Array, name: string, bytes: number): Uint8Array {
  const out = new Uint8Array(zip);
  const view = new DataView(out.buffer);
  const wanted = Buffer.from(name);
  const named = (at: number, length: number): boolean =>
    Buffer.from(out.subarray(at, at + length)).equals(wanted);
  for (let i = 0; i + 46 < out.length; i += 1) {
    const signature = view.getUint32(i, true);
    if (signature === 0x04034b50 && named(i + 30, view.getUint16(i + 26, true)))
      view.setUint32(i + 22, bytes, true);
    if (signature === 0x02014b50 && named(i + 46, view.getUint16(i + 28, true)))
      view.setUint32(i + 24, bytes, true);
  }
  return out;
}

describe('HTTP API', () => {
  const prefix = uniquePrefix('http');
  cleanupKeys(prefix);
  const objectsDir = mkdtempSync(join(tmpdir(), 'prism-http-objects-'));
  onCleanup(() => rmSync(objectsDir, { recursive: true, force: true }));

  let server: TestServer;
  let docx: Buffer;

  /** Every file and directory in the server's object store. */
  const stored = (): string[] =>
    existsSync(objectsDir) ? (readdirSync(objectsDir, { recursive: true }) as string[]).sort() : [];

  const listed = async (person: Person): Promise<string[]> => {
    const res = await api(server.url, person.token, '/api/reviews');
    expect(res.status).toBe(200);
    return ((await res.json()) as { reviews: { id: string }[] }).reviews.map((r) => r.id);
  };

  beforeAll(async () => {
    server = await startServer(prefix, { objectsDir, env: { MAX_UPLOAD_MB: '1', PUBLIC_URL } });
    docx = await makeDocx([
      { title: 'Summary', paragraphs: ['The outage lasted four hours.'] },
      {
        title: 'Actions',
        paragraphs: ['Add alerting on queue depth.'],
        table: [
          ['Owner', 'Due'],
          ['Ops', 'May'],
        ],
      },
    ]);
  });

  it('answers /health and /ready', async () => {
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({
      status: 'ok',
      instance: server.instance,
      version: expect.any(String),
    });
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', checks: { redis: 'ok', storage: 'ok' } });
  });

  it("keeps an idle connection open longer than the load balancer's 120 s idle timeout", async () => {
    // What the ALB reads to decide how long it may reuse the connection; Node's default is 5 s.
    const header = await new Promise<string | undefined>((resolve, reject) => {
      const agent = new Agent({ keepAlive: true });
      getHttp(`${server.url}/health`, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          agent.destroy();
          resolve(String(res.headers['keep-alive'] ?? ''));
        });
      }).on('error', reject);
    });
    const seconds = Number(/timeout=(\d+)/.exec(header ?? '')?.[1]);
    expect(seconds).toBeGreaterThan(120);
  });

  it('validates POST /api/session: a name of 1 to 80 characters, sent as JSON', async () => {
    const refused: [string, NonNullable<RequestInit['body']>, Record<string, string>][] = [
      ['empty name', JSON.stringify({ name: '' }), {}],
      ['blank name', JSON.stringify({ name: '   ' }), {}],
      ['81 characters', JSON.stringify({ name: 'n'.repeat(81) }), {}],
      ['no name', JSON.stringify({}), {}],
      ['name a number', JSON.stringify({ name: 5 }), {}],
      ['name an array', JSON.stringify({ name: ['Ann'] }), {}],
      ['a JSON string', JSON.stringify('Ann'), {}],
      ['malformed JSON', '{"name":', {}],
      ['text/plain', JSON.stringify({ name: 'Ann' }), { 'content-type': 'text/plain' }],
      ['a form', 'name=Ann', { 'content-type': 'application/x-www-form-urlencoded' }],
      [
        'multipart',
        (() => {
          const form = new FormData();
          form.set('name', 'Ann');
          return form;
        })(),
        { 'content-type': '' },
      ],
    ];
    for (const [label, body, headers] of refused) {
      const init: RequestInit = {
        method: 'POST',
        body,
        headers: headers['content-type'] === '' ? {} : { 'content-type': 'application/json', ...headers },
      };
      const res = await fetch(`${server.url}/api/session`, init);
      // A body that is not JSON at all is the wrong type (415); JSON of the wrong shape is invalid.
      const notJson = ['text/plain', 'a form', 'multipart'].includes(label);
      expect(res.status, label).toBe(notJson ? 415 : 400);
      await expectError(res, notJson ? 415 : 400, notJson ? 'unsupported_type' : 'invalid');
      expect(res.headers.get('set-cookie'), label).toBeNull();
    }
    const huge = await postSession(
      server.url,
      JSON.stringify({ name: 'Ann', padding: 'x'.repeat(1.5 * MB) }),
    );
    await expectError(huge, 413, 'too_large');

    const longest = await postSession(server.url, JSON.stringify({ name: 'n'.repeat(80) }));
    expect(longest.status).toBe(200);
    expect(((await longest.json()) as Person).user.name).toBe('n'.repeat(80));
  });

  it('sets an HttpOnly SameSite=Lax session cookie that alone authenticates', async () => {
    const res = await postSession(server.url, JSON.stringify({ name: 'Cora' }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Person;
    expect(body).toEqual({ user: { id: expect.any(String), name: 'Cora' }, token: expect.any(String) });
    const cookies = res.headers.getSetCookie();
    const cookie = cookies.find((c) => c.startsWith('prism_session='));
    expect(cookie).toBeDefined();
    const attributes = cookie!.split(';').map((part) => part.trim().toLowerCase());
    expect(attributes).toContain('httponly');
    expect(attributes).toContain('samesite=lax');
    expect(attributes).toContain('path=/');
    expect(attributes).not.toContain('secure'); // plain HTTP here; a Secure cookie would never come back
    const pair = cookie!.split(';')[0]!;

    // The cookie alone, no Authorization header: list, upload, read.
    const list = await fetch(`${server.url}/api/reviews`, { headers: { cookie: pair } });
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual({ reviews: [] });
    const form = new FormData();
    form.set('file', new Blob([docx]), 'cookie.docx');
    const created = await fetch(`${server.url}/api/reviews`, {
      method: 'POST',
      headers: { cookie: pair },
      body: form,
    });
    expect(created.status).toBe(201);
    const { review } = (await created.json()) as { review: { id: string; owner: { id: string } } };
    expect(review.owner).toEqual(body.user);
    // It is the same person as the bearer token.
    expect(await listed(body)).toEqual([review.id]);
    // Without the cookie (or with a mangled one) the same request is refused.
    await expectError(await fetch(`${server.url}/api/reviews`), 401, 'unauthorized');
    await expectError(
      await fetch(`${server.url}/api/reviews`, { headers: { cookie: `${pair.slice(0, -3)}abc` } }),
      401,
      'unauthorized',
    );
  });

  it('refuses every kind of bad upload with its code, and stores nothing', async () => {
    const person = await session(server.url, 'Uploader');
    const before = stored();
    const docm = (() => {
      const files = unzipSync(docx);
      const types = Buffer.from(files['[Content_Types].xml']!).toString('utf8');
      expect(types).toContain(WORD_MAIN);
      files['[Content_Types].xml'] = strToU8(types.replace(WORD_MAIN, WORD_MACRO_MAIN));
      return zipSync(files);
    })();
    const spreadsheet = zipSync({
      '[Content_Types].xml': strToU8(
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
      ),
      'xl/workbook.xml': strToU8('<workbook/>'),
    });
    const cases: [label: string, file: Uint8Array, name: string, status: number, code: string][] = [
      ['encrypted', corpus('poi-encrypted-password-pass.docx'), 'secret.docx', 400, 'encrypted_document'],
      ['Word 97 named .docm', corpus('poi-word97-doc-named-docm.docx'), 'old.docx', 415, 'unsupported_type'],
      ['truncated zip', corpus('poi-truncated-zip.docx'), 'cut.docx', 400, 'corrupt_document'],
      ['no text', corpus('mammoth-empty.docx'), 'empty.docx', 400, 'empty_document'],
      ['0 bytes', new Uint8Array(0), 'zero.docx', 400, 'empty_document'],
      [
        'plain text named .docx',
        strToU8('Just some text, not a Word file.\n'),
        'notes.docx',
        415,
        'unsupported_type',
      ],
      ['macro-enabled .docm', docm, 'macro.docm', 415, 'unsupported_type'],
      [
        'a zip but no Office file',
        zipSync({ 'hello.txt': strToU8('hi') }),
        'hello.docx',
        415,
        'unsupported_type',
      ],
      ['a spreadsheet', spreadsheet, 'sheet.docx', 415, 'unsupported_type'],
    ];
    for (const [label, file, name, status, code] of cases) {
      const res = await upload(server.url, person.token, file, {}, name);
      expect(res.status, label).toBe(status);
      await expectError(res, status, code);
      expect(stored(), label).toEqual(before);
    }

    // A good document with bad guidelines is refused as a whole.
    const guidelines: [string, Uint8Array, number, string][] = [
      ['encrypted guidelines', corpus('poi-encrypted-password-pass.docx'), 400, 'encrypted_document'],
      ['text guidelines', strToU8('Be kind.'), 415, 'unsupported_type'],
      ['guidelines without text', corpus('mammoth-empty.docx'), 400, 'empty_document'],
    ];
    for (const [label, file, status, code] of guidelines) {
      const form = new FormData();
      form.set('file', new Blob([docx]), 'report.docx');
      form.set('guidelines', new Blob([file]), 'guidelines.docx');
      const res = await fetch(`${server.url}/api/reviews`, {
        method: 'POST',
        headers: { authorization: `Bearer ${person.token}` },
        body: form,
      });
      expect(res.status, label).toBe(status);
      await expectError(res, status, code);
      expect(stored(), label).toEqual(before);
    }

    // Not a multipart upload, or one without the "file" field.
    const titleOnly = new FormData();
    titleOnly.set('title', 'Where is the file?');
    await expectError(
      await fetch(`${server.url}/api/reviews`, {
        method: 'POST',
        headers: { authorization: `Bearer ${person.token}` },
        body: titleOnly,
      }),
      400,
      'invalid',
    );
    const wrongField = new FormData();
    wrongField.set('document', new Blob([docx]), 'report.docx');
    await expectError(
      await fetch(`${server.url}/api/reviews`, {
        method: 'POST',
        headers: { authorization: `Bearer ${person.token}` },
        body: wrongField,
      }),
      400,
      'invalid',
    );
    await expectError(
      await api(server.url, person.token, '/api/reviews', {
        method: 'POST',
        body: JSON.stringify({ file: 'x' }),
      }),
      400,
      'invalid',
    );

    expect(await listed(person)).toEqual([]);
    expect(stored()).toEqual(before);
  });

  it('answers an upload over MAX_UPLOAD_MB with a readable 413 too_large, and stores nothing', async () => {
    const person = await session(server.url, 'Big');
    const before = stored();
    // Over the limit (1 MB here), then more than twice over: both read and answered, never a reset.
    for (const size of [1.5 * MB, 5 * MB]) {
      const file = new Uint8Array(size).fill(0x41);
      file.set([0x50, 0x4b, 0x03, 0x04]);
      const res = await upload(server.url, person.token, file);
      await expectError(res, 413, 'too_large');
    }
    // Still serving this person afterwards.
    expect(await listed(person)).toEqual([]);
    expect(stored()).toEqual(before);
    expect((await upload(server.url, person.token, docx)).status).toBe(201);
  });

  it('refuses a zip bomb with a 4xx, and stores nothing', async () => {
    const person = await session(server.url, 'Bomber');
    const before = stored();
    const types = unzipSync(docx)['[Content_Types].xml']!;
    const bombs: [string, Uint8Array][] = [
      // One entry of 64 MB of zeros: a ratio near 1000:1 in a 64 KB upload.
      ['deep', zeroZip({ '[Content_Types].xml': types }, [{ name: 'word/document.xml', bytes: 64 * MB }])],
      // More entries than any document has.
      [
        'many entries',
        zipSync({
          '[Content_Types].xml': types,
          ...Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`word/x${i}.xml`, strToU8('<x/>')])),
        }),
      ],
    ];
    for (const [label, bomb] of bombs) {
      expect(bomb.length, label).toBeLessThan(MB);
      const res = await upload(server.url, person.token, bomb);
      expect(res.status, label).toBeGreaterThanOrEqual(400);
      expect(res.status, label).toBeLessThan(500);
      const body = (await res.json()) as { error: { code: string } };
      expect(['corrupt_document', 'unsupported_type', 'too_large'], label).toContain(body.error.code);
      expect(stored(), label).toEqual(before);
    }
    expect(await listed(person)).toEqual([]);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('refuses a zip bomb that under-declares its sizes without inflating it', async () => {
    const person = await session(server.url, 'Liar');
    const before = stored();
    const files = unzipSync(docx);
    const document = files['word/document.xml']!;
    delete files['word/document.xml'];
    // 256 MB of zeros whose central directory claims the size of the real document part.
    const bomb = declareSize(
      zeroZip(files, [{ name: 'word/document.xml', bytes: 256 * MB }]),
      'word/document.xml',
      document.length,
    );
    expect(bomb.length).toBeLessThan(MB);

    const baseline = process.memoryUsage().arrayBuffers;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }, 2);
    let res: Response;
    try {
      res = await upload(server.url, person.token, bomb);
    } finally {
      clearInterval(sampler);
    }
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    await res.body?.cancel();
    expect(stored()).toEqual(before);
    // The server (in this process) must not have inflated the 256 MB to find out: a real
    // document part of this upload is a few KB, so anything near 256 MB was the bomb going off.
    expect(Math.round((peak - baseline) / MB)).toBeLessThan(64);
  });

  it('accepts a valid upload: 201 with a ReviewSummary, the given title, optional guidelines, no analysis', async () => {
    const person = await session(server.url, 'Owner');
    const before = stored();
    const guidelines = await makeDocx([
      { title: 'House rules', paragraphs: ['Every claim needs a source.'] },
    ]);
    const form = new FormData();
    form.set('file', new Blob([docx]), 'q3.docx');
    form.set('guidelines', new Blob([guidelines]), 'rules.docx');
    form.set('title', 'Q3 incident review');
    const res = await fetch(`${server.url}/api/reviews`, {
      method: 'POST',
      headers: { authorization: `Bearer ${person.token}` },
      body: form,
    });
    expect(res.status).toBe(201);
    const { review } = (await res.json()) as { review: Record<string, any> };
    expect(review).toEqual({
      id: expect.any(String),
      title: 'Q3 incident review',
      createdAt: expect.any(String),
      owner: person.user,
      role: 'owner',
      sections: expect.any(Array),
      // CONTRACT 7.3: a new review is open, nothing decided of nothing found, last active when created.
      status: 'open',
      progress: { decided: 0, total: 0 },
      updatedAt: review.createdAt,
    });
    expect(new Date(review.createdAt).toISOString()).toBe(review.createdAt);
    expect(review.sections.map((s: { title: string }) => s.title)).toEqual(['Summary', 'Actions']);
    for (const section of review.sections) {
      expect(section).toEqual({
        id: expect.any(String),
        title: expect.any(String),
        level: expect.any(Number),
        index: expect.any(Number),
      });
    }
    const indexes = review.sections.map((s: { index: number }) => s.index);
    expect([...indexes].sort((a, b) => a - b)).toEqual(indexes);
    expect(new Set(indexes).size).toBe(indexes.length);

    // Listed for its owner with the same summary; the snapshot shows no analysis started.
    const list = (await (await api(server.url, person.token, '/api/reviews')).json()) as {
      reviews: unknown[];
    };
    expect(list.reviews).toEqual([review]);
    const snapshot = (await (
      await api(server.url, person.token, `/api/reviews/${review.id}`)
    ).json()) as Record<string, any>;
    expect(snapshot).toMatchObject({
      id: review.id,
      title: 'Q3 incident review',
      role: 'owner',
      feedback: [],
      chat: [],
    });
    expect(snapshot.seq).toBeGreaterThanOrEqual(1);
    expect(snapshot.sections.map((s: { status: string }) => s.status)).toEqual(['idle', 'idle']);
    expect(snapshot.sections[0].text).toContain('The outage lasted four hours.');
    expect(snapshot.members).toEqual([{ user: person.user, role: 'owner', online: false }]);
    // This time something was stored: the checks above would have seen a refused upload's files.
    expect(stored().length).toBeGreaterThan(before.length);

    // Without a title, the review is still named.
    const untitled = await upload(server.url, person.token, docx, {}, 'untitled-report.docx');
    expect(untitled.status).toBe(201);
    const second = ((await untitled.json()) as { review: { title: string } }).review;
    expect(second.title.length).toBeGreaterThan(0);
  });

  it('refuses cross-site writes by Origin, whatever the credentials', async () => {
    const person = await session(server.url, 'Sam');
    const evil = { origin: 'http://evil.example' };
    const form = new FormData();
    form.set('file', new Blob([docx]), 'report.docx');
    const before = stored();
    await expectError(
      await fetch(`${server.url}/api/reviews`, {
        method: 'POST',
        headers: { authorization: `Bearer ${person.token}`, ...evil },
        body: form,
      }),
      403,
      'forbidden',
    );
    await expectError(await postSession(server.url, JSON.stringify({ name: 'Eve' }), evil), 403, 'forbidden');
    const created = await upload(server.url, person.token, docx);
    const { review } = (await created.json()) as { review: { id: string } };
    await expectError(
      await api(server.url, person.token, `/api/reviews/${review.id}/invites`, {
        method: 'POST',
        body: JSON.stringify({ role: 'reviewer' }),
        headers: evil,
      }),
      403,
      'forbidden',
    );
    await expectError(
      await api(server.url, person.token, '/api/invites/accept', {
        method: 'POST',
        body: JSON.stringify({ token: 'x' }),
        headers: evil,
      }),
      403,
      'forbidden',
    );
    // A plain cross-site form cannot make an invite either: not JSON.
    await expectError(
      await fetch(`${server.url}/api/reviews/${review.id}/invites`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${person.token}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'role=reviewer',
      }),
      415,
      'unsupported_type',
    );
    expect(await listed(person)).toEqual([review.id]);
    expect(stored().length).toBeGreaterThan(before.length);

    // The same writes from PUBLIC_URL's origin are served.
    const own = await postSession(server.url, JSON.stringify({ name: 'Pat' }), { origin: PUBLIC_URL });
    expect(own.status).toBe(200);
    const invite = await api(server.url, person.token, `/api/reviews/${review.id}/invites`, {
      method: 'POST',
      body: JSON.stringify({ role: 'reviewer' }),
      headers: { origin: PUBLIC_URL },
    });
    expect(invite.status).toBe(200);
    expect(((await invite.json()) as { url: string }).url.startsWith(`${PUBLIC_URL}/`)).toBe(true);
  });

  it('answers unknown reviews and routes with 404 not_found as JSON, and bad invite bodies with 400', async () => {
    const person = await session(server.url, 'Finn');
    await expectError(await api(server.url, person.token, '/api/reviews/r_doesnotexist'), 404, 'not_found');
    await expectError(await api(server.url, person.token, '/api/unknown'), 404, 'not_found');
    await expectError(
      await api(server.url, person.token, '/api/unknown', { method: 'POST', body: '{}' }),
      404,
      'not_found',
    );
    await expectError(await api(server.url, person.token, '/api/reviews/r_x/unknown'), 404, 'not_found');
    await expectError(
      await api(server.url, person.token, '/api/reviews', { method: 'DELETE' }),
      404,
      'not_found',
    );

    const review = (
      (await (await upload(server.url, person.token, docx)).json()) as { review: { id: string } }
    ).review;
    for (const body of [{}, { role: 'owner' }, { role: 'admin' }, { role: 5 }]) {
      await expectError(
        await api(server.url, person.token, `/api/reviews/${review.id}/invites`, {
          method: 'POST',
          body: JSON.stringify(body),
        }),
        400,
        'invalid',
      );
    }
    for (const body of [{}, { token: '' }, { token: 5 }, { token: 'x'.repeat(2001) }]) {
      const res = await api(server.url, person.token, '/api/invites/accept', {
        method: 'POST',
        body: JSON.stringify(body),
      });
      expect([400, 403]).toContain(res.status);
      await expectError(res, res.status, res.status === 400 ? 'invalid' : 'forbidden');
    }
  });
});
