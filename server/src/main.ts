/**
 * A Prism server process: reads config, connects to Redis, listens. Wiring only; the app is built
 * by `createApp`. SIGTERM drains within DRAIN_TIMEOUT_MS: stop accepting, disconnect sockets with
 * jitter so they reconnect to other instances, close Redis; a timer forces the exit.
 */
import { createServer } from 'node:http';
import { closeRedis, createObjectStore, createRedis, waitReady } from '@prism/store';
import pino from 'pino';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createMetrics } from './infra/metrics.ts';

const VERSION = process.env.npm_package_version ?? '0.1.0';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`prism server: ${problem}`);
      process.exit(1);
    }
    throw error;
  }
  const logger = pino({ level: config.logLevel, base: { instance: config.instance } });
  if (config.usingDevSecret) {
    logger.warn(
      'SESSION_SECRET is not set (or is the published development secret): anyone can sign sessions. A production server refuses to start like this.',
    );
  }

  const settings = {
    url: config.redis.url,
    password: config.redis.password,
    instance: config.instance,
    cluster: config.redis.cluster,
  };
  const redis = {
    commands: createRedis(settings, 'commands', logger),
    subscriber: createRedis(settings, 'subscriber', logger),
    adapterPub: createRedis(settings, 'adapter-pub', logger),
    adapterSub: createRedis(settings, 'adapter-sub', logger),
    queue: createRedis(settings, 'queue', logger),
  };
  await Promise.all(Object.values(redis).map((client) => waitReady(client)));

  const metrics = createMetrics(config.instance);
  const objects = createObjectStore(config.storageUrl, {
    region: config.awsRegion,
    endpoint: config.s3EndpointUrl,
  });
  const app = createApp({ config, logger, metrics, objects, redis, version: VERSION });

  const metricsServer = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry
      .metrics()
      .then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body))
      .catch(() => res.writeHead(500).end());
  });
  metricsServer.listen(config.metricsPort, '127.0.0.1');
  metricsServer.on('error', (error) => logger.warn({ err: error }, 'metrics port unavailable'));

  app.http.listen(config.port, () => {
    logger.info({ port: config.port, publicUrl: config.publicUrl }, 'prism server listening');
  });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainTimeoutMs: config.drainTimeoutMs }, 'draining');
    const force = setTimeout(() => {
      logger.warn('drain timed out; exiting');
      process.exit(1);
    }, config.drainTimeoutMs);
    force.unref();
    try {
      await app.drain(config.drainTimeoutMs);
      metricsServer.close();
      await Promise.all(Object.values(redis).map((client) => closeRedis(client)));
      logger.info('drained');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'drain failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('prism server: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
