/**
 * The Bedrock provider: ConverseStream with a fallback chain (CONTRACT section 6). A model is
 * skipped for the next one only before anything of its answer reached the room, and only for
 * errors about the model or the service (throttling, 5xx, not ready, timeouts, unknown or retired
 * ids, no on-demand throughput, no access to that model). Errors about the request or the account
 * fail visibly. When every model throttles, the job is told to wait and retry.
 */
import { Agent } from 'node:https';
import {
  BedrockRuntimeClient,
  type ContentBlock,
  ConverseStreamCommand,
  type ConverseStreamCommandInput,
  type Message,
  type SystemContentBlock,
} from '@aws-sdk/client-bedrock-runtime';
import type { Usage } from '@prism/core';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Logger } from 'pino';
import {
  type ChecklistRequest,
  type ChecklistResult,
  checklistPrompt,
  parseChecklistAnswer,
} from './checklist.ts';
import { LineSplitter, parseCrossFindingLine, parseFindingLine } from './findings.ts';
import { supportsCachePoint, supportsThinking } from './models.ts';
import { PART_CHARS } from './parts.ts';
import {
  analysisPrompt,
  chatHistory,
  chatPrompt,
  citationsIn,
  crossCheckPrompt,
  findingsBlock,
  systemPrompt,
} from './prompts.ts';
import {
  type AiProvider,
  type AnalysisRequest,
  type AnalysisResult,
  type AnalysisSink,
  type ChatRequest,
  type ChatResult,
  type ChatSink,
  type CrossCheckRequest,
  type CrossCheckSink,
  type ProbeResult,
  ProviderError,
  type StopReason,
} from './provider.ts';

export interface BedrockOptions {
  region: string;
  models: string[];
  endpoint?: string | undefined;
  /** A stream silent this long fails (HTTP socket inactivity). Default 60 s. */
  inactivityTimeoutMs?: number;
  logger: Logger;
  /** Static credentials (tests with a stand-in); default: the SDK's provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Output caps: tight, since output tokens are the expensive ones. */
export const MAX_TOKENS = { analysis: 4096, chat: 2048, thinkingBudget: 2048 } as const;

/** Findings asked for when the request names no cap (MAX_FINDINGS_PER_SECTION's default). */
const DEFAULT_MAX_FINDINGS = 8;

type Verdict = 'skip' | 'throttled' | 'fail' | 'drop-thinking' | 'drop-cache';

const MODEL_PROBLEM =
  /model identifier is invalid|end of its life|on-demand throughput|inference profile|access to the model|model.*not (found|supported)|unknown model/i;

/** Where an error before the first token sends us (CONTRACT section 6). */
export function classify(error: unknown): Verdict {
  const name = (error as { name?: string }).name ?? '';
  const message = (error as { message?: string }).message ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (name === 'ThrottlingException' || name === 'ServiceQuotaExceededException') return 'throttled';
  if (name === 'ValidationException') {
    if (MODEL_PROBLEM.test(message)) return 'skip';
    if (/thinking|reasoning/i.test(message)) return 'drop-thinking';
    if (/cache ?point|caching/i.test(message)) return 'drop-cache';
    return 'fail';
  }
  if (name === 'AccessDeniedException') return /model/i.test(message) ? 'skip' : 'fail';
  if (name === 'ResourceNotFoundException') return 'skip';
  if (
    [
      'InternalServerException',
      'ServiceUnavailableException',
      'ModelNotReadyException',
      'ModelTimeoutException',
      'ModelStreamErrorException',
      'ModelErrorException',
      'TimeoutError',
      'RequestTimeout',
    ].includes(name)
  ) {
    return 'skip';
  }
  if (status === 429) return 'throttled';
  if (status !== undefined && status >= 500) return 'skip';
  const code = (error as { code?: string }).code;
  if (code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === 'EPIPE')
    return 'skip';
  return 'fail';
}

const ACCOUNT_PROBLEM = new Set([
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'CredentialsProviderError',
  'AccessDeniedException',
]);

function visibleError(error: unknown, started: boolean): ProviderError {
  const name = (error as { name?: string }).name ?? 'Error';
  const message = (error as { message?: string }).message ?? String(error);
  if (started) {
    return new ProviderError('model_stream_failed', `The model stopped mid-answer (${name}: ${message}).`);
  }
  if (ACCOUNT_PROBLEM.has(name)) {
    return new ProviderError(
      'model_access_denied',
      `Bedrock refused Prism's credentials (${name}: ${message}).`,
    );
  }
  if (name === 'ValidationException') {
    return new ProviderError('model_request_invalid', `Bedrock refused the request (${message}).`);
  }
  return new ProviderError('model_failed', `The model call failed (${name}: ${message}).`);
}

const mapStop = (reason: string | undefined): StopReason =>
  reason === 'end_turn' || reason === 'max_tokens' || reason === 'stop_sequence' || reason === 'tool_use'
    ? reason
    : 'other';

interface StreamHandlers {
  text(delta: string): void | Promise<void>;
  reasoning(delta: string): void;
  started(model: string): Promise<void>;
}

interface Call {
  system: string;
  messages: Message[];
  maxTokens: number;
  thinking: boolean;
}

interface Streamed {
  model: string;
  usage: Usage;
  stopReason: StopReason;
}

export class BedrockProvider implements AiProvider {
  readonly name = 'bedrock' as const;
  readonly partChars = PART_CHARS;
  private readonly client: BedrockRuntimeClient;
  private readonly options: BedrockOptions;

  constructor(options: BedrockOptions) {
    this.options = options;
    this.client = new BedrockRuntimeClient({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // HTTP/1.1 with keep-alive and an inactivity timeout: a stalled stream fails instead of hanging.
      requestHandler: new NodeHttpHandler({
        // socketTimeout is the inactivity timeout: requestTimeout only covers the wait for headers,
        // which a streaming response sends at once.
        socketTimeout: options.inactivityTimeoutMs ?? 60_000,
        connectionTimeout: 5000,
        httpsAgent: new Agent({ keepAlive: true, maxSockets: 64 }),
      }),
      // The fallback chain is the retry policy; the SDK's own retries would hide throttling.
      maxAttempts: 1,
    });
  }

  describe(): Record<string, unknown> {
    return {
      provider: 'bedrock',
      region: this.options.region,
      models: this.options.models,
      endpoint: this.options.endpoint ?? 'default',
    };
  }

  private input(
    model: string,
    call: Call,
    features: { thinking: boolean; cache: boolean },
  ): ConverseStreamCommandInput {
    const system: SystemContentBlock[] = [{ text: call.system }];
    if (features.cache) system.push({ cachePoint: { type: 'default' } });
    const input: ConverseStreamCommandInput = {
      modelId: model,
      system,
      messages: call.messages,
      inferenceConfig: { maxTokens: call.maxTokens },
    };
    if (features.thinking) {
      // Thinking needs budget_tokens >= 1024 and below maxTokens, and no temperature.
      input.inferenceConfig = { maxTokens: call.maxTokens + MAX_TOKENS.thinkingBudget };
      input.additionalModelRequestFields = {
        thinking: { type: 'enabled', budget_tokens: MAX_TOKENS.thinkingBudget },
      };
    }
    return input;
  }

  /** Streams one answer through the chain. */
  private async stream(call: Call, handlers: StreamHandlers, signal: AbortSignal): Promise<Streamed> {
    let throttled = 0;
    const problems: string[] = [];
    for (const model of this.options.models) {
      const features = {
        thinking: call.thinking && supportsThinking(model),
        cache: supportsCachePoint(model),
      };
      // A model may refuse a feature it was thought to take: retry it once without.
      for (let tries = 0; tries < 3; tries += 1) {
        let started = false;
        try {
          const response = await this.client.send(
            new ConverseStreamCommand(this.input(model, call, features)),
            {
              abortSignal: signal,
            },
          );
          const usage: Usage = { inputTokens: 0, outputTokens: 0 };
          let stopReason: StopReason = 'other';
          for await (const event of response.stream ?? []) {
            const delta = event.contentBlockDelta?.delta;
            const text = delta?.text;
            const reasoning = delta?.reasoningContent?.text;
            if (text || reasoning) {
              if (!started) {
                started = true;
                await handlers.started(model);
              }
              if (reasoning) handlers.reasoning(reasoning);
              if (text) await handlers.text(text);
            }
            if (event.messageStop) stopReason = mapStop(event.messageStop.stopReason);
            const metadata = event.metadata?.usage;
            if (metadata) {
              usage.inputTokens = metadata.inputTokens ?? 0;
              usage.outputTokens = metadata.outputTokens ?? 0;
              usage.cacheReadTokens = metadata.cacheReadInputTokens ?? 0;
              usage.cacheWriteTokens = metadata.cacheWriteInputTokens ?? 0;
            }
          }
          if (stopReason === 'other') {
            const raw = (response as { stopReason?: string }).stopReason;
            if (raw) stopReason = mapStop(raw);
          }
          return { model, usage, stopReason };
        } catch (error) {
          if (signal.aborted) throw signal.reason ?? error;
          if (error instanceof ProviderError) throw error;
          if (started) throw visibleError(error, true);
          const verdict = classify(error);
          const name = (error as { name?: string }).name;
          this.options.logger.warn({ model, err: error, verdict }, 'bedrock model call failed');
          if (verdict === 'drop-thinking' && features.thinking) {
            features.thinking = false;
            continue;
          }
          if (verdict === 'drop-cache' && features.cache) {
            features.cache = false;
            continue;
          }
          if (verdict === 'fail' || verdict === 'drop-thinking' || verdict === 'drop-cache') {
            throw visibleError(error, false);
          }
          if (verdict === 'throttled') throttled += 1;
          problems.push(`${model}: ${name}`);
          break;
        }
      }
    }
    if (throttled === this.options.models.length) {
      throw new ProviderError(
        'model_throttled',
        'Every model in the chain is throttled; retrying shortly.',
        true,
      );
    }
    throw new ProviderError(
      'model_unavailable',
      `No model in the chain answered (${problems.join('; ')}).`,
      true,
    );
  }

  async analyze(request: AnalysisRequest, sink: AnalysisSink, signal: AbortSignal): Promise<AnalysisResult> {
    const section = request.document.sections.find((s) => s.id === request.sectionId);
    if (!section) throw new ProviderError('not_found', 'The section to analyze does not exist.');
    const prompt = analysisPrompt(section, {
      maxFindings: request.maxFindings ?? DEFAULT_MAX_FINDINGS,
      decided: request.decided,
      part: request.part,
    });
    return this.jsonLines(request.document, prompt, request.thinking, signal, sink, (line) => {
      const finding = parseFindingLine(line);
      return finding ? () => sink.finding(finding) : undefined;
    });
  }

  async crossCheck(
    request: CrossCheckRequest,
    sink: CrossCheckSink,
    signal: AbortSignal,
  ): Promise<AnalysisResult> {
    const prompt = crossCheckPrompt(request.document, request);
    return this.jsonLines(
      request.document,
      prompt,
      false,
      signal,
      { ...sink, reasoning: () => {} },
      (line) => {
        const finding = parseCrossFindingLine(line);
        return finding ? () => sink.finding(finding) : undefined;
      },
    );
  }

  /**
   * One call whose answer is JSON Lines: each complete line is parsed and handed over in order,
   * the moment its newline arrives.
   */
  private async jsonLines(
    document: AnalysisRequest['document'],
    prompt: string,
    thinking: boolean,
    signal: AbortSignal,
    sink: { started(model: string): Promise<void>; reasoning(text: string): void },
    parse: (line: string) => (() => Promise<void>) | undefined,
  ): Promise<AnalysisResult> {
    const lines = new LineSplitter();
    let chain: Promise<void> = Promise.resolve();
    const emit = (line: string): void => {
      const deliver = parse(line);
      if (deliver) chain = chain.then(deliver);
    };
    const result = await this.stream(
      {
        system: systemPrompt(document),
        messages: [{ role: 'user', content: [{ text: prompt } as ContentBlock] }],
        maxTokens: MAX_TOKENS.analysis,
        thinking,
      },
      {
        started: (model) => sink.started(model),
        reasoning: (text) => sink.reasoning(text),
        text: async (text) => {
          for (const line of lines.push(text)) emit(line);
          await chain;
        },
      },
      signal,
    );
    // A line cut by max_tokens is incomplete JSON and parses to nothing; a complete one counts.
    emit(lines.rest());
    await chain;
    return result;
  }

  async chat(request: ChatRequest, sink: ChatSink, signal: AbortSignal): Promise<ChatResult> {
    const section = request.document.sections.find((s) => s.id === request.sectionId);
    const messages: Message[] = chatHistory(request.history).map((turn) => ({
      role: turn.role,
      content: [{ text: turn.text }],
    }));
    // After the cache point: the findings change with every decision, the document does not.
    const question: ContentBlock[] = [
      { text: findingsBlock(request.findings, request.document.sections) },
      { text: chatPrompt(request.question, section) },
    ];
    if (messages.at(-1)?.role === 'user') messages.at(-1)!.content!.push(...question);
    else messages.push({ role: 'user', content: question });
    let text = '';
    const result = await this.stream(
      {
        system: systemPrompt(request.document),
        messages,
        maxTokens: MAX_TOKENS.chat,
        thinking: request.thinking ?? false,
      },
      {
        started: (model) => sink.started(model),
        // Reasoning is the model's scratchpad: never part of the answer the room reads.
        reasoning: () => {},
        text: (delta) => {
          text += delta;
          sink.text(delta);
        },
      },
      signal,
    );
    return { ...result, text, citations: citationsIn(text, request.document.sections) };
  }

  /** The checklist: one call over the cached prefix, its JSON Lines parsed once the answer is complete. */
  async checklist(request: ChecklistRequest, signal: AbortSignal): Promise<ChecklistResult> {
    let text = '';
    const result = await this.stream(
      {
        system: systemPrompt(request.document),
        messages: [{ role: 'user', content: [{ text: checklistPrompt(request.document, request.rubric) }] }],
        maxTokens: MAX_TOKENS.analysis,
        thinking: false,
      },
      {
        started: async () => {},
        reasoning: () => {},
        text: (delta) => {
          text += delta;
        },
      },
      signal,
    );
    return {
      model: result.model,
      usage: result.usage,
      entries: parseChecklistAnswer(text, request.rubric, request.document, result.model),
    };
  }

  /** Diagnostics: a one-token answer through the chain, so the first model that can answer does. */
  async probe(signal: AbortSignal): Promise<ProbeResult> {
    const { model, usage } = await this.stream(
      {
        system: 'Prism connectivity check. Answer with the single word OK.',
        messages: [{ role: 'user', content: [{ text: 'Are you there?' }] }],
        maxTokens: 1,
        thinking: false,
      },
      { started: async () => {}, reasoning: () => {}, text: () => {} },
      signal,
    );
    return { model, usage };
  }
}
