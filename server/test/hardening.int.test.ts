/**
 * Hardening (issue 14 items 3-6 and the 127.0.0.1 origin of issue 13), through real servers on a real
 * Redis: secrets a production server refuses to start with, invites and sessions that cannot be
 * forged or swapped, per-address limits shared by two servers, the socket cap, security headers, JSON
 * only writes, a malformed path's answer, and `export.ready` without server paths.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import {
  api,
  type ClientSocket,
  call,
  cleanupKeys,
  connect,
  createReview,
  makeDocx,
  onCleanup,
  ReviewFeed,
  session,
  spawnProcess,
  spawnServer,
  startServer,
  startWorker,
  uniquePrefix,
  upload,
  waitFor,
} from '../../test/helpers.ts';
import { RulesProvider } from '../../worker/src/ai/rules.ts';
import { DEV_SECRET } from '../src/secrets.ts';

const SECRET = randomBytes(32).toString('hex');

/** What someone holding the secret could sign: any claims, in Prism's token format. */
function signed(claims: Record<string, unknown>, secret = SECRET): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `v1.${payload}.${createHmac('sha256', secret).update(`prism.${payload}`).digest('base64url')}`;
}

const postSession = (url: string, name: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ name }),
  });

const errorOf = async (res: Response): Promise<{ status: number; code: string; message: string }> => {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, code: body.error.code, message: body.error.message };
};

/** Starts a server process and waits for it to exit (a config error) or answer (it started). */
async function startsWith(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawnProcess('server', { PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'warn', ...env });
  const code = await Promise.race([
    child.exited,
    new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 15_000)),
  ]);
  if (code === 'running') child.proc.kill('SIGKILL');
  return { code: code === 'running' ? null : code, output: child.output() };
}

/** A raw websocket upgrade with an Origin: the status and body a refused client receives. */
function upgradeWith(url: string, origin: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/socket.io/?EIO=4&transport=websocket`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        origin,
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-version': '13',
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function socketWith(url: string, token: string, origin: string): Promise<Error | undefined> {
  const socket = ioClient(url, {
    auth: { token },
    extraHeaders: { origin },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  onCleanup(() => socket.disconnect());
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(undefined));
    socket.once('connect_error', (error) => resolve(error));
  });
}

describe('secrets', () => {
  it('a production server refuses the development secret and sixteen "a"s, and starts with 32 random bytes', async () => {
    const dev = await startsWith({ NODE_ENV: 'production', SESSION_SECRET: DEV_SECRET });
    expect(dev.code).toBe(1);
    expect(dev.output).toMatch(/prism server: SESSION_SECRET: the published development secret/);
    expect(dev.output).toContain('openssl rand -hex 32');

    const short = await startsWith({ NODE_ENV: 'production', SESSION_SECRET: 'a'.repeat(16) });
    expect(short.code).toBe(1);
    expect(short.output).toMatch(/prism server: SESSION_SECRET: holds 8 bytes, at least 32 random bytes/);

    const prefix = uniquePrefix('secretok');
    cleanupKeys(prefix);
    const good = await spawnServer(prefix, 'secret-ok', { NODE_ENV: 'production', SESSION_SECRET: SECRET });
    expect((await fetch(`${good.url}/health`)).status).toBe(200);
  }, 60_000);
});

describe('tokens', () => {
  it('refuses an owner invite signed with the real secret, and keeps invites and sessions apart', async () => {
    const prefix = uniquePrefix('tokens');
    cleanupKeys(prefix);
    const server = await startServer(prefix, { env: { SESSION_SECRET: SECRET } });
    const owner = await session(server.url, 'Olga');
    const mallory = await session(server.url, 'Mallory');
    const review = await createReview(
      server.url,
      owner.token,
      await makeDocx([{ title: 'A', paragraphs: ['x'] }]),
    );
    const accept = (token: string, as = mallory.token) =>
      api(server.url, as, '/api/invites/accept', { method: 'POST', body: JSON.stringify({ token }) });
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      t: 'i',
      aud: 'prism:invite',
      rid: review.id,
      iat: now,
      exp: now + 3600,
      by: owner.user.id,
    };

    for (const forged of [
      signed({ ...claims, role: 'owner' }),
      signed({ ...claims, role: 'admin' }),
      signed({ ...claims, aud: undefined, role: 'owner' }),
    ]) {
      expect(await errorOf(await accept(forged))).toMatchObject({ status: 403, code: 'forbidden' });
    }
    expect(await errorOf(await api(server.url, mallory.token, `/api/reviews/${review.id}`))).toMatchObject({
      status: 403,
    });

    // A genuine invite is no session, on HTTP and on the socket; a session is no invite.
    const invite = (await (
      await api(server.url, owner.token, `/api/reviews/${review.id}/invites`, {
        method: 'POST',
        body: JSON.stringify({ role: 'viewer' }),
      })
    ).json()) as { token: string };
    expect(await errorOf(await api(server.url, invite.token, '/api/reviews'))).toMatchObject({
      status: 401,
      code: 'unauthorized',
    });
    await expect(connect(server.url, invite.token)).rejects.toThrow('unauthorized');
    expect(await errorOf(await accept(owner.token))).toMatchObject({ status: 403, code: 'forbidden' });
    // The genuine invite does what it says, and no more.
    expect(await (await accept(invite.token)).json()).toEqual({ reviewId: review.id, role: 'viewer' });
  });
});

describe('limits per client address', () => {
  it('refuses session 121 of 300 from one address with 429 and Retry-After, across two servers', async () => {
    const prefix = uniquePrefix('iplimit');
    cleanupKeys(prefix);
    const env = { TRUST_PROXY: 'loopback' };
    const [a, b] = await Promise.all([startServer(prefix, { env }), startServer(prefix, { env })]);
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) => postSession(i % 2 === 0 ? a.url : b.url, `Person ${i}`)),
    );
    const ok = answers.filter((res) => res.status === 200);
    const refused = answers.filter((res) => res.status !== 200);
    expect(ok).toHaveLength(120);
    expect(new Set(refused.map((res) => res.status))).toEqual(new Set([429]));
    const first = refused[0]!;
    expect(Number(first.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(first.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(await errorOf(first)).toMatchObject({
      code: 'rate_limited',
      message: expect.stringMatching(/Try again in \d+ s/),
    });
    expect(first.headers.get('set-cookie')).toBeNull();
    // Another address behind the same load balancer is counted apart.
    const elsewhere = await postSession(a.url, 'Elsa', { 'x-forwarded-for': '203.0.113.7' });
    expect(elsewhere.status).toBe(200);
  });

  it('limits uploads per address whatever sessions they come from', async () => {
    const prefix = uniquePrefix('uploadip');
    cleanupKeys(prefix);
    const server = await startServer(prefix, {
      env: { TRUST_PROXY: 'loopback', RATE_LIMIT_UPLOADS_PER_IP: '5' },
    });
    const doc = await makeDocx([{ title: 'Summary', paragraphs: ['Short.'] }]);
    const people = await Promise.all([1, 2, 3].map((i) => session(server.url, `Fresh ${i}`)));
    const statuses: number[] = [];
    for (const person of people) {
      for (let i = 0; i < 3; i += 1) {
        const res = await upload(server.url, person.token, doc);
        statuses.push(res.status);
        if (res.status === 429) {
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
          expect((await errorOf(res)).code).toBe('rate_limited');
        } else await res.body?.cancel();
      }
    }
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429, 429, 429, 429]);
  });

  it('gives one person their 60 uploads a minute, then 429 with Retry-After', async () => {
    const prefix = uniquePrefix('uploadperson');
    cleanupKeys(prefix);
    const server = await startServer(prefix);
    const doc = await makeDocx([{ title: 'Summary', paragraphs: ['Short.'] }]);
    const person = await session(server.url, 'Busy');
    let accepted = 0;
    for (let batch = 0; batch < 6; batch += 1) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => upload(server.url, person.token, doc)),
      );
      accepted += answers.filter((res) => res.status === 201).length;
      await Promise.all(answers.map((res) => res.body?.cancel()));
    }
    expect(accepted).toBe(60);
    const refused = await upload(server.url, person.token, doc);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await errorOf(refused)).code).toBe('rate_limited');
  }, 60_000);

  it('tells every upload refused in a burst when to come back, the racing ones included', async () => {
    const prefix = uniquePrefix('uploadrace');
    cleanupKeys(prefix);
    const server = await startServer(prefix);
    const doc = await makeDocx([{ title: 'Summary', paragraphs: ['Short.'] }]);
    const person = await session(server.url, 'Hasty');
    // All at once: most pass the check before the route spends the allowance, so the last ones
    // are refused by the route itself.
    const answers = await Promise.all(
      Array.from({ length: 70 }, () => upload(server.url, person.token, doc)),
    );
    const refused = answers.filter((res) => res.status === 429);
    expect(refused).toHaveLength(10);
    for (const res of refused) expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await Promise.all(answers.map((res) => res.body?.cancel()));
  }, 60_000);

  it('limits invites accepted per address', async () => {
    const prefix = uniquePrefix('inviteip');
    cleanupKeys(prefix);
    const server = await startServer(prefix, { env: { RATE_LIMIT_INVITES_PER_IP: '3' } });
    const owner = await session(server.url, 'Olga');
    const review = await createReview(
      server.url,
      owner.token,
      await makeDocx([{ title: 'A', paragraphs: ['x'] }]),
    );
    const { token } = (await (
      await api(server.url, owner.token, `/api/reviews/${review.id}/invites`, {
        method: 'POST',
        body: JSON.stringify({ role: 'reviewer' }),
      })
    ).json()) as { token: string };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const person = await session(server.url, `Guest ${i}`);
      const res = await api(server.url, person.token, '/api/invites/accept', {
        method: 'POST',
        body: JSON.stringify({ token }),
      });
      statuses.push(res.status);
      if (res.status === 429) expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });
});

describe('sockets per person', () => {
  it('closes the oldest of 21 sockets (on another server), telling it why; the other 20 stay', async () => {
    const prefix = uniquePrefix('socketcap');
    cleanupKeys(prefix);
    const [a, b] = await Promise.all([startServer(prefix), startServer(prefix)]);
    const person = await session(a.url, 'Tabs');
    const sockets: ClientSocket[] = [];
    const closed: { code: string; message: string }[] = [];
    const first = await connect(b.url, person.token);
    first.on('session:closed', (payload) => closed.push(payload));
    const reasons: string[] = [];
    first.on('disconnect', (reason) => reasons.push(reason));
    sockets.push(first);
    for (let i = 1; i < 20; i += 1) sockets.push(await connect(i % 2 ? a.url : b.url, person.token));
    expect(sockets.every((s) => s.connected)).toBe(true);

    sockets.push(await connect(a.url, person.token));
    await waitFor(() => reasons.length > 0, 10_000, 'the oldest socket to close');
    expect(closed).toEqual([
      { code: 'too_many_connections', message: expect.stringContaining('more than 20') },
    ]);
    expect(reasons).toEqual(['io server disconnect']);
    expect(sockets.slice(1).every((s) => s.connected)).toBe(true);
    // The newest works.
    expect((await call(sockets[20]!, 'review:join', { reviewId: 'r_none' })).error.code).toMatch(
      /not_found|forbidden/,
    );

    // One more closes the next oldest, and only it.
    const second = sockets[1]!;
    let gone = '';
    second.once('disconnect', (reason) => {
      gone = reason;
    });
    sockets.push(await connect(b.url, person.token));
    expect(await waitFor(() => gone, 10_000, 'the next oldest to close')).toBe('io server disconnect');
    expect(sockets.slice(2).every((s) => s.connected)).toBe(true);
  });
});

describe('security headers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prism-web-'));
  const bootstrap = '\n\t\t\twindow.__prism = 1;\n\t\t';
  writeFileSync(
    join(dir, 'index.html'),
    `<!doctype html><html><body><script>${bootstrap}</script></body></html>`,
  );
  const hash = `'sha256-${createHash('sha256').update(bootstrap).digest('base64')}'`;

  const expectHeaders = (res: Response, label: string) => {
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp, label).toContain("default-src 'self'");
    expect(csp, label).toContain(`script-src 'self' ${hash}`);
    expect(csp, label).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp, label).toContain("frame-ancestors 'none'");
    expect(csp, label).toContain("object-src 'none'");
    expect(res.headers.get('x-content-type-options'), label).toBe('nosniff');
    expect(res.headers.get('referrer-policy'), label).toBe('no-referrer');
    expect(res.headers.get('x-frame-options'), label).toBe('DENY');
  };

  it('are on pages, API answers, errors and downloads; HSTS only over HTTPS', async () => {
    const prefix = uniquePrefix('headers');
    cleanupKeys(prefix);
    const server = await startServer(prefix, { env: { WEB_DIR: dir, TRUST_PROXY: 'loopback' } });
    const owner = await session(server.url, 'Olga');
    const review = await createReview(
      server.url,
      owner.token,
      await makeDocx([{ title: 'A', paragraphs: ['x'] }]),
    );
    const responses: [string, Response][] = [
      ['page', await fetch(`${server.url}/`)],
      ['deep link', await fetch(`${server.url}/reviews/${review.id}`)],
      ['API', await api(server.url, owner.token, '/api/reviews')],
      ['API error', await fetch(`${server.url}/api/reviews`)],
      ['download', await api(server.url, owner.token, `/api/reviews/${review.id}/export?format=docx`)],
      ['health', await fetch(`${server.url}/health`)],
    ];
    for (const [label, res] of responses) {
      expectHeaders(res, label);
      expect(res.headers.get('strict-transport-security'), label).toBeNull();
    }
    expect(responses[4]![1].headers.get('content-disposition')).toMatch(/attachment/);
    const https = await fetch(`${server.url}/`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(https.headers.get('strict-transport-security')).toMatch(/max-age=31536000/);
  });
});

describe('JSON only, paths and locations', () => {
  it('refuses non-JSON writes with 415, answers a malformed path with 400, and shows exports by their key', async () => {
    const prefix = uniquePrefix('jsononly');
    cleanupKeys(prefix);
    const server = await startServer(prefix);
    await startWorker(prefix, new RulesProvider());
    const owner = await session(server.url, 'Olga');
    const review = await createReview(
      server.url,
      owner.token,
      await makeDocx([{ title: 'Incident summary', paragraphs: ['The outage lasted four hours.'] }]),
    );
    const exportPath = `/api/reviews/${review.id}/export`;
    const post = (path: string, body: RequestInit['body'] | undefined, type?: string) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner.token}`, ...(type ? { 'content-type': type } : {}) },
        ...(body === undefined ? {} : { body }),
      });
    const form = new FormData();
    form.set('anything', '1');
    const refused: [string, Response][] = [
      ['form-encoded export', await post(exportPath, 'format=zip', 'application/x-www-form-urlencoded')],
      ['text export', await post(exportPath, '{}', 'text/plain')],
      ['multipart export', await post(exportPath, form)],
      ['export without a type', await post(exportPath, undefined)],
      [
        'form-encoded invite',
        await post(`/api/reviews/${review.id}/invites`, 'role=viewer', 'application/x-www-form-urlencoded'),
      ],
      ['form-encoded upload', await post('/api/reviews', 'file=x', 'application/x-www-form-urlencoded')],
    ];
    for (const [label, res] of refused) {
      expect(await errorOf(res), label).toMatchObject({ status: 415, code: 'unsupported_type' });
    }
    expect((await post(exportPath, undefined, 'application/json')).status).toBe(202);

    const malformed = await api(server.url, owner.token, '/api/reviews/%E0%A4%A');
    const answer = await errorOf(malformed);
    expect(answer).toMatchObject({ status: 400, code: 'invalid' });
    expect(answer.message).toMatch(/path is malformed/);
    expect(answer.message).not.toMatch(/JSON/);

    const socket = await connect(server.url, owner.token);
    const feed = new ReviewFeed(socket, review.id);
    await feed.join();
    expect((await post(exportPath, '{}', 'application/json')).status).toBe(202);
    const ready = await waitFor(
      () => feed.events.find((e) => e.type === 'export.ready'),
      30_000,
      'export.ready',
    );
    const location = (ready.data as { location: string }).location;
    expect(location).toMatch(/^Logs and data\/\d{8}_\d{6}_Incident summary\/$/);
  }, 60_000);
});

describe('origins', () => {
  const PUBLIC_URL = 'http://localhost:4123';

  it('in development takes 127.0.0.1 and [::1] for localhost on the same port; refuses others saying what is expected', async () => {
    const prefix = uniquePrefix('origins');
    cleanupKeys(prefix);
    const server = await startServer(prefix, { env: { PUBLIC_URL } });
    const person = await session(server.url, 'Lou');
    for (const origin of [PUBLIC_URL, 'http://127.0.0.1:4123', 'http://[::1]:4123']) {
      expect((await postSession(server.url, 'Lou', { origin })).status, origin).toBe(200);
      expect(await socketWith(server.url, person.token, origin), origin).toBeUndefined();
    }
    for (const origin of ['http://evil.example', 'http://127.0.0.1:4124', 'https://localhost:4123']) {
      const refused = await errorOf(await postSession(server.url, 'Lou', { origin }));
      expect(refused, origin).toMatchObject({ status: 403, code: 'forbidden' });
      expect(refused.message, origin).toContain(`came from ${origin}`);
      expect(refused.message, origin).toContain(PUBLIC_URL);
      expect(refused.message, origin).toContain('PUBLIC_URL');
      expect(await socketWith(server.url, person.token, origin), origin).toBeInstanceOf(Error);
      const upgrade = await upgradeWith(server.url, origin);
      expect(upgrade.status, origin).toBe(400);
      expect(upgrade.body, origin).toContain(`Prism accepts it only from ${PUBLIC_URL}`);
      expect(upgrade.body, origin).toContain('PUBLIC_URL');
    }
  });

  it('in production takes only PUBLIC_URL', async () => {
    const prefix = uniquePrefix('originsprod');
    cleanupKeys(prefix);
    const server = await startServer(prefix, {
      env: { PUBLIC_URL, NODE_ENV: 'production', SESSION_SECRET: SECRET },
    });
    expect((await postSession(server.url, 'Lou', { origin: PUBLIC_URL })).status).toBe(200);
    expect((await postSession(server.url, 'Lou', { origin: 'http://127.0.0.1:4123' })).status).toBe(403);
  });
});
