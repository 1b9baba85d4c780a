import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

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

  it('requires SESSION_SECRET in production and splits it for rotation', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'SESSION_SECRET: required when NODE_ENV=production',
    ]);
    const config = loadConfig({
      NODE_ENV: 'production',
      SESSION_SECRET: 'new-secret-0123456789, old-secret-0123456789',
    });
    expect(config.sessionSecrets).toEqual(['new-secret-0123456789', 'old-secret-0123456789']);
  });
});
