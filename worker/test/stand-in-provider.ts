/** The Bedrock provider the worker tests run: the real SDK, talking to the local ConverseStream stand-in. */
import pino from 'pino';
import type { StandIn } from '../../test/bedrock/stand-in.ts';
import { type BedrockOptions, BedrockProvider } from '../src/ai/bedrock.ts';

/** A provider on `standIn` with its test credentials and a silent logger; `options` adds or overrides. */
export const standInProvider = (
  standIn: StandIn,
  options: Pick<BedrockOptions, 'models'> & Partial<BedrockOptions>,
): BedrockProvider =>
  new BedrockProvider({
    region: 'eu-north-1',
    endpoint: standIn.url,
    credentials: { accessKeyId: 'AKIDPRISMTEST', secretAccessKey: 'prism-test-secret' },
    logger: pino({ level: 'silent' }),
    ...options,
  });
