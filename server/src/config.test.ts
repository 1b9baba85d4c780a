import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { DEV_SECRET } from './secrets.ts';

const HEX = randomBytes(32).toString('hex');
const BASE64 = randomBytes(32).toString('base64');

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('server config', () => {
  it('has the contract defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      publicUrl: 'http://localhost:3000',
      metricsPort: 9464,
      maxUploadBytes: 20 * 1024 * 1024,
      drainTimeoutMs: 20000,
      storageUrl: 'file:.data/objects',
      usingDevSecret: true,
    });
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
  });

  it('treats empty as unset', () => {
    expect(loadConfig({ PORT: '', PUBLIC_URL: '' }).port).toBe(3000);
  });

  it('lists every problem, one line each', () => {
    const problems = problemsOf({ PORT: 'abc', REDIS_URL: 'http://x', STORAGE_URL: 'ftp://x' });
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/REDIS_URL/);
    expect(problems.join('\n')).toMatch(/STORAGE_URL/);
  });

  it('takes a slow reader limit of at least 8 frames, 512 unless set', () => {
    expect(loadConfig({}).sendQueueLimit).toBe(512);
    expect(loadConfig({ SOCKET_SEND_QUEUE_LIMIT: '64' }).sendQueueLimit).toBe(64);
    expect(problemsOf({ SOCKET_SEND_QUEUE_LIMIT: '2' }).join('\n')).toMatch(/SOCKET_SEND_QUEUE_LIMIT/);
    expect(problemsOf({ SOCKET_SEND_QUEUE_LIMIT: 'lots' }).join('\n')).toMatch(/SOCKET_SEND_QUEUE_LIMIT/);
    expect(loadConfig({}).presenceAliveMs).toBe(5000);
    expect(problemsOf({ PRESENCE_ALIVE_MS: '10' }).join('\n')).toMatch(/PRESENCE_ALIVE_MS/);
  });

  it('requires SESSION_SECRET in production and splits it for rotation', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'SESSION_SECRET: required when NODE_ENV=production',
    ]);
    const config = loadConfig({ NODE_ENV: 'production', SESSION_SECRET: `${HEX}, ${BASE64}` });
    expect(config.sessionSecrets).toEqual([HEX, BASE64]);
  });

  it('refuses the development secret in production, and warns about it in development', () => {
    const [problem, ...more] = problemsOf({ NODE_ENV: 'production', SESSION_SECRET: DEV_SECRET });
    expect(more).toEqual([]);
    expect(problem).toMatch(/^SESSION_SECRET: the published development secret/);
    expect(problem).toContain('openssl rand -hex 32');
    expect(loadConfig({ SESSION_SECRET: DEV_SECRET }).usingDevSecret).toBe(true);
    expect(loadConfig({ SESSION_SECRET: HEX }).usingDevSecret).toBe(false);
  });

  it('refuses a production secret of under 32 random bytes, one line per secret', () => {
    const weak: [string, string, RegExp][] = [
      ['sixteen a', 'a'.repeat(16), /holds 8 bytes, at least 32/],
      ['64 hex of one digit', 'a'.repeat(64), /does not look random/],
      ['a repeated hex pattern', 'deadbeef'.repeat(8), /does not look random/],
      ['a counting pattern', '0123456789abcdef'.repeat(4), /does not look random/],
      [
        'base64 of a word repeated',
        Buffer.from('password'.repeat(4)).toString('base64'),
        /does not look random/,
      ],
      [
        'base64 of a sentence',
        Buffer.from('the quick brown fox jumps over the lazy dog').toString('base64'),
        /does not look random/,
      ],
      ['a passphrase', 'correct-horse-battery-staple-and-more-words-here', /does not look random/],
      ['16 random bytes', randomBytes(16).toString('hex'), /holds 16 bytes/],
      ['punctuation', `${HEX}!`, /must be hex or base64/],
    ];
    for (const [label, secret, message] of weak) {
      const problems = problemsOf({ NODE_ENV: 'production', SESSION_SECRET: secret });
      expect(problems, label).toHaveLength(1);
      expect(problems[0], label).toMatch(message);
      expect(problems[0], label).toContain('openssl rand -hex 32');
    }
    const both = problemsOf({
      NODE_ENV: 'production',
      SESSION_SECRET: `${HEX},${'a'.repeat(16)},${DEV_SECRET}`,
    });
    expect(both).toHaveLength(2);
    expect(both[0]).toMatch(/^SESSION_SECRET \(secret 2\): holds 8 bytes/);
    expect(both[1]).toMatch(/^SESSION_SECRET \(secret 3\): the published development secret/);
  });

  it('accepts what openssl, node and Secrets Manager make', () => {
    const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const good = [
      HEX,
      HEX.toUpperCase(),
      BASE64,
      randomBytes(32).toString('base64url'),
      randomBytes(64).toString('hex'),
      Array.from({ length: 64 }, () => alnum[randomInt(alnum.length)]).join(''),
    ];
    for (const secret of good) {
      expect(problemsOf({ NODE_ENV: 'production', SESSION_SECRET: secret }), secret).toEqual([]);
    }
  });

  it('has per-address limits and a socket cap, configurable', () => {
    expect(loadConfig({})).toMatchObject({
      ipLimits: { sessions: 120, uploads: 120, invites: 120 },
      maxSocketsPerUser: 20,
    });
    const raised = loadConfig({
      RATE_LIMIT_SESSIONS_PER_IP: '100000',
      RATE_LIMIT_UPLOADS_PER_IP: '5000',
      RATE_LIMIT_INVITES_PER_IP: '7000',
      MAX_SOCKETS_PER_USER: '3',
    });
    expect(raised).toMatchObject({
      ipLimits: { sessions: 100_000, uploads: 5000, invites: 7000 },
      maxSocketsPerUser: 3,
    });
    expect(problemsOf({ RATE_LIMIT_SESSIONS_PER_IP: '0', MAX_SOCKETS_PER_USER: 'many' })).toHaveLength(2);
  });
});
