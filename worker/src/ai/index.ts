import type { Logger } from 'pino';
import type { WorkerConfig } from '../config.ts';
import { BedrockProvider } from './bedrock.ts';
import type { AiProvider } from './provider.ts';
import { RulesProvider } from './rules.ts';

/** The provider the configuration names (CONTRACT section 2: AI settings are the worker's alone). */
export function createProvider(config: WorkerConfig, logger: Logger): AiProvider {
  if (config.aiProvider === 'rules') return new RulesProvider();
  return new BedrockProvider({
    region: config.awsRegion,
    models: config.bedrockModels,
    endpoint: config.bedrockEndpointUrl,
    inactivityTimeoutMs: config.bedrockInactivityTimeoutMs,
    logger,
  });
}
