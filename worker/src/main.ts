/**
 * A Prism worker process: reads config, connects, starts the workers and the health port.
 * SIGTERM closes in order within DRAIN_TIMEOUT_MS: stop taking jobs, let running ones finish or
 * hand them back, then close Redis; a timer forces the exit.
 */
import { ConfigError } from '@prism/core';
import { closeRedis, createObjectStore, createRedis, waitReady } from '@prism/store';
import pino from 'pino';
import { createProvider } from './ai/index.ts';
import { createWorker } from './app.ts';
import { loadConfig, type WorkerConfig } from './config.ts';

const VERSION = process.env.npm_package_version ?? '0.1.0';

function readConfig(): WorkerConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`prism worker: ${problem}`);
      process.exit(1);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = pino({ level: config.logLevel, base: { instance: config.instance } });
  const settings = {
    url: config.redis.url,
    password: config.redis.password,
    instance: config.instance,
    cluster: config.redis.cluster,
  };
  const redis = {
    commands: createRedis(settings, 'commands', logger),
    blocking: createRedis(settings, 'worker', logger),
    control: createRedis(settings, 'subscriber', logger),
  };
  await Promise.all(Object.values(redis).map((client) => waitReady(client)));

  const provider = createProvider(config, logger);
  logger.info({ why: config.aiProviderReason, ...provider.describe() }, 'AI provider');
  const app = await createWorker({
    config,
    logger,
    provider,
    objects: createObjectStore(config.storageUrl, {
      region: config.awsRegion,
      endpoint: config.s3EndpointUrl,
    }),
    redis,
    version: VERSION,
  });
  app.health.on('error', (error) => logger.error({ err: error }, 'health port unavailable'));
  app.health.listen(config.healthPort, () =>
    logger.info({ healthPort: config.healthPort }, 'prism worker running'),
  );

  let closing = false;
  const stop = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'closing worker');
    const force = setTimeout(() => {
      logger.warn('close timed out; exiting');
      process.exit(1);
    }, config.drainTimeoutMs);
    force.unref();
    await app.close();
    await Promise.all(Object.values(redis).map((client) => closeRedis(client)));
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('prism worker: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
