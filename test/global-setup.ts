import { Redis } from 'ioredis';

/** Integration tests need a real Redis: `npm test` starts one when REDIS_URL does not answer. */
export default async function setup(): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch {
    throw new Error(`No Redis answers at ${url}. Run the tests with \`npm test\`, which starts one.`);
  } finally {
    redis.disconnect();
  }
}
