/**
 * The Bedrock stand-in, driven by the real `@aws-sdk/client-bedrock-runtime` over a NodeHttpHandler:
 * what the SDK surfaces for each knob is what the worker will see in its tests.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  BedrockRuntimeClient,
  ConverseStreamCommand,
  type ConverseStreamCommandInput,
  type ConverseStreamCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler, type NodeHttpHandlerOptions } from '@smithy/node-http-handler';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MESSAGES, type StandIn, startBedrockStandIn } from './stand-in.ts';

const MODEL = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';
const ARN =
  'arn:aws:bedrock:eu-north-1:123456789012:inference-profile/eu.anthropic.claude-haiku-4-5-20251001-v1:0';

const SECTION_TEXT = [
  'On 3 March the payment service was unavailable for 47 minutes, affecting about 12,000 customers.',
  'The team will look into the root cause and improve monitoring, and we expect things to be better soon after the changes are rolled out to every region.',
  'Alerts fired but nobody was paged.',
  'Going forward the runbook will be updated.',
].join('\n');

const SYSTEM = `You are Prism.\n\n<document title="Outage">\n<section id="s1" title="Summary">\nThe payment service failed on 3 March.\n</section>\n<section id="s2" title="Actions">\n${SECTION_TEXT}\n</section>\n</document>`;

const analysisUser = (id = 's2', title = 'Actions', text = SECTION_TEXT) =>
  `Review this section of the document against the rubric.\n\n<section id="${id}" title="${title}">\n${text}\n</section>\n\nAnswer with findings in JSON Lines.`;

let standIn: StandIn;
let client: BedrockRuntimeClient;

const makeClient = (handler: NodeHttpHandlerOptions = { requestTimeout: 2000, connectionTimeout: 1000 }) =>
  new BedrockRuntimeClient({
    region: 'eu-north-1',
    endpoint: standIn.url,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
    requestHandler: new NodeHttpHandler(handler),
    maxAttempts: 1,
  });

const request = (over: Partial<ConverseStreamCommandInput> = {}): ConverseStreamCommandInput => ({
  modelId: MODEL,
  system: [{ text: SYSTEM }, { cachePoint: { type: 'default' } }],
  messages: [{ role: 'user', content: [{ text: analysisUser() }] }],
  inferenceConfig: { maxTokens: 4096 },
  ...over,
});
const chatRequest = (question = 'Ana asks: What happened?', over: Partial<ConverseStreamCommandInput> = {}) =>
  request({ messages: [{ role: 'user', content: [{ text: question }] }], ...over });

interface Collected {
  text: string;
  reasoning: string;
  signature: string;
  events: string[];
  deltas: { index: number; text?: string; reasoning?: string }[];
  stopReason?: string;
  usage?: Record<string, number | undefined>;
  latencyMs?: number;
}

async function collect(response: ConverseStreamCommandOutput): Promise<Collected> {
  const out: Collected = { text: '', reasoning: '', signature: '', events: [], deltas: [] };
  for await (const event of response.stream!) {
    const [name] = Object.keys(event).filter(
      (k) => (event as unknown as Record<string, unknown>)[k] !== undefined,
    );
    out.events.push(name!);
    if (event.contentBlockDelta) {
      const { delta, contentBlockIndex } = event.contentBlockDelta;
      if (delta?.text !== undefined) {
        out.text += delta.text;
        out.deltas.push({ index: contentBlockIndex!, text: delta.text });
      }
      if (delta?.reasoningContent?.text !== undefined) {
        out.reasoning += delta.reasoningContent.text;
        out.deltas.push({ index: contentBlockIndex!, reasoning: delta.reasoningContent.text });
      }
      if (delta?.reasoningContent?.signature) out.signature += delta.reasoningContent.signature;
    }
    if (event.messageStop) out.stopReason = event.messageStop.stopReason;
    if (event.metadata) {
      out.usage = { ...event.metadata.usage } as Record<string, number | undefined>;
      out.latencyMs = event.metadata.metrics?.latencyMs;
    }
  }
  return out;
}

const run = async (input: ConverseStreamCommandInput, c = client) =>
  collect(await c.send(new ConverseStreamCommand(input)));

/** The error a promise rejects with (fails the test if it resolves). */
async function errorOf(promise: Promise<unknown>): Promise<Error & Record<string, any>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, any>;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  standIn = await startBedrockStandIn({ tokensPerSecond: 5000, firstTokenMs: 5 });
  client = makeClient();
});
afterAll(async () => {
  client.destroy();
  await standIn.close();
});
beforeEach(() => standIn.reset());

describe('streaming', () => {
  it('streams messageStart, text deltas of 1-4 tokens, contentBlockStop, messageStop and metadata', async () => {
    const answer = 'The summary [s1] says the payment service failed on 3 March, and nothing more is known.';
    standIn.config.respond = () => answer;
    const out = await run(chatRequest());
    expect(out.text).toBe(answer);
    expect(out.events[0]).toBe('messageStart');
    expect(out.events.slice(-3)).toEqual(['contentBlockStop', 'messageStop', 'metadata']);
    expect(out.stopReason).toBe('end_turn');
    for (const delta of out.deltas) expect(delta.text!.length).toBeLessThanOrEqual(16 + 8);
    expect(out.deltas.filter((d) => d.text).length).toBeGreaterThan(5);
  });

  it('answers chat with prose of about chatTokens tokens that cites the first section', async () => {
    const out = await run(chatRequest());
    expect(out.text).toContain('[s1]');
    expect(out.text.length).toBeGreaterThan(60 * 4 * 0.7);
    expect(out.text.length).toBeLessThan(60 * 4 * 1.3);
    standIn.config.chatTokens = 200;
    const longer = await run(chatRequest('Bo asks: And then?\n(Bo is looking at section [s2] "Actions".)'));
    expect(longer.text.length).toBeGreaterThan(200 * 4 * 0.8);
    expect(longer.text).toContain('[s2]');
  });

  it('takes time according to firstTokenMs and tokensPerSecond', async () => {
    standIn.config.firstTokenMs = 150;
    standIn.config.tokensPerSecond = 400;
    standIn.config.respond = () => 'word '.repeat(80).trim(); // ~80 tokens -> ~200 ms
    const t0 = Date.now();
    const response = await client.send(new ConverseStreamCommand(chatRequest()));
    let first = 0;
    for await (const event of response.stream!)
      if (event.contentBlockDelta && !first) first = Date.now() - t0;
    const total = Date.now() - t0;
    expect(first).toBeGreaterThanOrEqual(140);
    expect(total).toBeGreaterThanOrEqual(300);
    expect(total).toBeLessThan(1500);
  });

  it('reports usage: input ~ chars/4, output ~ chars/4, cache write then read for the same system prefix', async () => {
    const first = await run(request());
    const second = await run(
      request({
        messages: [
          {
            role: 'user',
            content: [{ text: analysisUser('s1', 'Summary', 'The payment service failed on 3 March.') }],
          },
        ],
      }),
    );
    const prefixTokens = Math.ceil(SYSTEM.length / 4);
    expect(first.usage).toMatchObject({ cacheWriteInputTokens: prefixTokens, cacheReadInputTokens: 0 });
    expect(second.usage).toMatchObject({ cacheWriteInputTokens: 0, cacheReadInputTokens: prefixTokens });
    expect(first.usage!.outputTokens).toBe(Math.ceil(first.text.length / 4));
    const inputChars = SYSTEM.length + analysisUser().length;
    expect(first.usage!.inputTokens).toBe(Math.ceil(inputChars / 4) - prefixTokens);
    const u = first.usage!;
    expect(u.totalTokens).toBe(
      u.inputTokens! + u.outputTokens! + u.cacheReadInputTokens! + u.cacheWriteInputTokens!,
    );
    expect(first.latencyMs).toBeGreaterThanOrEqual(0);

    // Another model has its own cache; no cachePoint, no cache fields.
    const other = await run(request({ modelId: ARN }));
    expect(other.usage).toMatchObject({ cacheWriteInputTokens: prefixTokens, cacheReadInputTokens: 0 });
    const plain = await run(request({ system: [{ text: SYSTEM }] }));
    expect(plain.usage!.cacheReadInputTokens).toBeUndefined();
    expect(plain.usage!.inputTokens).toBe(Math.ceil(inputChars / 4));

    // A different document is a cache miss.
    const changed = await run(
      request({ system: [{ text: SYSTEM + ' ' }, { cachePoint: { type: 'default' } }] }),
    );
    expect(changed.usage!.cacheWriteInputTokens).toBeGreaterThan(0);
  });

  it('records requests, call counts and the signed authorization header; ARNs and ids are url-decoded', async () => {
    await run(request());
    await run(request({ modelId: ARN }));
    expect(standIn.requests.map((r) => r.modelId)).toEqual([MODEL, ARN]);
    expect(standIn.callCount(MODEL)).toBe(1);
    expect(standIn.calls[ARN]).toBe(1);
    const [first] = standIn.requests;
    expect(String(first!.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
    expect(first!.body.system?.[1]).toEqual({ cachePoint: { type: 'default' } });
    expect(first!.body.inferenceConfig).toEqual({ maxTokens: 4096 });
    expect(first!.outcome).toBe('stream');
    expect(first!.call).toBe(1);

    // Only the latest recordLimit requests are kept; counts go on.
    standIn.config.recordLimit = 1;
    await run(request());
    expect(standIn.requests.map((r) => r.call)).toEqual([2]);
    expect(standIn.callCount(MODEL)).toBe(2);
  });

  it('rejects unsigned requests as Bedrock does', async () => {
    const response = await fetch(`${standIn.url}/model/${encodeURIComponent(MODEL)}/converse-stream`, {
      method: 'POST',
      body: '{}',
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toMatch(/^MissingAuthenticationTokenException/);
  });
});

describe('analysis answers', () => {
  const lines = SECTION_TEXT.split('\n');
  const parse = (text: string) => text.split('\n').map((line) => JSON.parse(line) as Record<string, any>);

  it('are JSON Lines of valid findings whose quotes are verbatim parts of one line', async () => {
    const out = await run(request());
    const findings = parse(out.text);
    expect(findings).toHaveLength(3);
    for (const f of findings) {
      expect(['critical', 'important', 'suggestion', 'positive']).toContain(f.type);
      expect(['high', 'medium', 'low']).toContain(f.risk);
      expect(typeof f.category).toBe('string');
      expect(typeof f.suggestion).toBe('string');
      expect(Array.isArray(f.questions) && f.questions.length > 0).toBe(true);
      expect(f.refs.every((r: number) => r >= 1 && r <= 12)).toBe(true);
      expect(f.confidence).toBeGreaterThanOrEqual(0.85);
      expect(f.confidence).toBeLessThanOrEqual(1);
      expect(lines.some((line) => line.includes(f.quote))).toBe(true);
      expect(f.description).toContain(f.quote.split(' ').slice(0, 3).join(' '));
    }
    expect(new Set(findings.map((f) => f.description)).size).toBe(3);
    // The long line is quoted by a clause, not whole.
    const long = findings.find((f) => lines[1]!.includes(f.quote));
    if (long) expect(long.quote.length).toBeLessThan(lines[1]!.length);
  });

  it('answers the same request the same way (deterministic content)', async () => {
    const a = await run(request());
    const b = await run(request());
    expect(a.text).toBe(b.text);
  });

  it('honours findingsPerSection, lowConfidenceFindings, invalidQuote and duplicateFinding', async () => {
    standIn.config.findingsPerSection = 5;
    standIn.config.lowConfidenceFindings = 2;
    let findings = parse((await run(request())).text);
    expect(findings).toHaveLength(5);
    expect(findings.map((f) => f.confidence < 0.6)).toEqual([false, false, false, true, true]);

    standIn.reset();
    standIn.config.invalidQuote = true;
    findings = parse((await run(request())).text);
    expect(findings.filter((f) => !lines.some((line) => line.includes(f.quote)))).toHaveLength(1);

    standIn.reset();
    standIn.config.duplicateFinding = true;
    findings = parse((await run(request())).text);
    expect(findings).toHaveLength(4);
    expect(findings[1]!.quote).toBe(findings[0]!.quote);
    expect(findings[1]!.type).toBe(findings[0]!.type);
    expect(findings[1]!.description).not.toBe(findings[0]!.description);
  });

  it('can wrap the lines in a code fence or put prose before them', async () => {
    standIn.config.codeFence = true;
    standIn.config.preamble = 'Here are my findings:';
    const out = await run(request());
    expect(out.text.startsWith('Here are my findings:\n```json\n{')).toBe(true);
    expect(out.text.endsWith('}\n```')).toBe(true);
  });

  it('streams a reasoning block first when thinking is enabled', async () => {
    const out = await run(
      request({
        additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 2048 } },
        inferenceConfig: { maxTokens: 8000 },
      }),
    );
    expect(out.reasoning).toContain('s2');
    expect(out.signature.length).toBeGreaterThan(10);
    expect(out.deltas.filter((d) => d.reasoning).every((d) => d.index === 0)).toBe(true);
    expect(out.deltas.filter((d) => d.text !== undefined).every((d) => d.index === 1)).toBe(true);
    const firstText = out.deltas.findIndex((d) => d.text);
    const lastReasoning = out.deltas.findLastIndex((d) => d.reasoning);
    expect(lastReasoning).toBeLessThan(firstText);
    expect(parse(out.text)).toHaveLength(3);
    expect(out.usage!.outputTokens).toBe(Math.ceil((out.reasoning.length + out.text.length) / 4));
    // Without thinking there is no reasoning.
    expect((await run(request())).reasoning).toBe('');
  });
});

describe('stop reasons', () => {
  it('max_tokens cuts the answer inside its last JSON line', async () => {
    standIn.config.stopReason = 'max_tokens';
    const out = await run(request());
    expect(out.stopReason).toBe('max_tokens');
    const lines = out.text.split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines.slice(0, -1)) JSON.parse(line);
    expect(() => JSON.parse(lines.at(-1)!)).toThrow();
  });

  it('a small inferenceConfig.maxTokens truncates with max_tokens', async () => {
    const out = await run(request({ inferenceConfig: { maxTokens: 50 } }));
    expect(out.stopReason).toBe('max_tokens');
    expect(out.text.length).toBe(200);
    expect(out.usage!.outputTokens).toBe(50);
  });

  it('guardrail_intervened and content_filtered', async () => {
    standIn.config.stopReason = 'guardrail_intervened';
    const guarded = await run(request());
    expect(guarded).toMatchObject({
      stopReason: 'guardrail_intervened',
      text: 'Sorry, the model cannot answer this question.',
    });
    standIn.config.stopReason = 'content_filtered';
    const filtered = await run(request());
    expect(filtered.stopReason).toBe('content_filtered');
    expect(filtered.text.length).toBeGreaterThan(10);
  });
});

describe('errors before the stream', () => {
  const cases = [
    ['throttle', 'ThrottlingException', 429, MESSAGES.throttle],
    ['unknown', 'ValidationException', 400, 'The provided model identifier is invalid.'],
    ['end-of-life', 'ResourceNotFoundException', 404, MESSAGES.endOfLife],
    ['no-on-demand', 'ValidationException', 400, MESSAGES.noOnDemand(MODEL)],
    [
      'no-access',
      'AccessDeniedException',
      403,
      "You don't have access to the model with the specified model ID.",
    ],
    ['not-ready', 'ModelNotReadyException', 429, MESSAGES.notReady],
    ['server-error', 'InternalServerException', 500, MESSAGES.serverError],
    ['unavailable', 'ServiceUnavailableException', 503, MESSAGES.unavailable],
    ['malformed', 'ValidationException', 400, MESSAGES.malformed],
    ['too-long', 'ValidationException', 400, 'Input is too long for requested model.'],
    [
      'expired-credentials',
      'ExpiredTokenException',
      403,
      'The security token included in the request is expired',
    ],
    ['invalid-credentials', 'UnrecognizedClientException', 403, MESSAGES.invalidToken],
  ] as const;

  it.each(cases)('%s surfaces as %s (%i)', async (behaviour, name, status, message) => {
    standIn.config.models[MODEL] = behaviour;
    const error = await errorOf(client.send(new ConverseStreamCommand(request())));
    expect(error.name).toBe(name);
    expect(error.message).toBe(message);
    expect(error.$metadata.httpStatusCode).toBe(status);
    expect(error.$fault).toBe(status >= 500 ? 'server' : 'client');
    expect(standIn.requests[0]!.outcome).toBe(name);
  });

  it('the no-on-demand message names the model and uses Bedrock’s curly apostrophe', () => {
    expect(MESSAGES.noOnDemand('anthropic.claude-3-opus-20240229-v1:0')).toBe(
      'Invocation of model ID anthropic.claude-3-opus-20240229-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.',
    );
  });

  it('times: throttles the first N calls, then answers; other models are unaffected; * is the default', async () => {
    standIn.config.models[MODEL] = { behaviour: 'throttle', times: 2 };
    expect((await errorOf(client.send(new ConverseStreamCommand(request())))).name).toBe(
      'ThrottlingException',
    );
    expect((await run(request({ modelId: ARN }))).stopReason).toBe('end_turn');
    expect((await errorOf(client.send(new ConverseStreamCommand(request())))).name).toBe(
      'ThrottlingException',
    );
    expect((await run(request())).stopReason).toBe('end_turn');
    expect(standIn.callCount(MODEL)).toBe(3);

    standIn.reset();
    standIn.config.models = { '*': 'throttle', [ARN]: 'ok' };
    expect((await errorOf(client.send(new ConverseStreamCommand(request())))).name).toBe(
      'ThrottlingException',
    );
    expect((await run(request({ modelId: ARN }))).stopReason).toBe('end_turn');
  });

  it('rejects thinking for noThinking models and cachePoint for noCachePoint models', async () => {
    standIn.config.models[MODEL] = { noThinking: true, noCachePoint: true };
    const thinking = await errorOf(
      client.send(
        new ConverseStreamCommand(
          request({
            system: [{ text: SYSTEM }],
            additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 2048 } },
          }),
        ),
      ),
    );
    expect(thinking).toMatchObject({ name: 'ValidationException', message: MESSAGES.noThinking });
    const cache = await errorOf(client.send(new ConverseStreamCommand(request())));
    expect(cache).toMatchObject({ name: 'ValidationException', message: MESSAGES.noCachePoint });
    expect((await run(request({ system: [{ text: SYSTEM }] }))).stopReason).toBe('end_turn');
  });

  it('checks thinking parameters the way Claude does', async () => {
    const send = (
      fields: ConverseStreamCommandInput['additionalModelRequestFields'],
      inferenceConfig: Record<string, number>,
    ) =>
      errorOf(
        client.send(
          new ConverseStreamCommand(request({ additionalModelRequestFields: fields, inferenceConfig })),
        ),
      );
    const thinking = (budget: number) => ({ thinking: { type: 'enabled', budget_tokens: budget } });
    expect((await send(thinking(2048), { maxTokens: 8000, temperature: 0.2 })).message).toBe(
      MESSAGES.thinkingTemperature,
    );
    expect((await send(thinking(500), { maxTokens: 8000 })).message).toBe(MESSAGES.thinkingBudget);
    expect((await send(thinking(4096), { maxTokens: 4096 })).message).toBe(MESSAGES.thinkingMaxTokens);
  });

  it('checks the conversation shape the way Bedrock does', async () => {
    const send = (messages: ConverseStreamCommandInput['messages']) =>
      errorOf(client.send(new ConverseStreamCommand(request({ messages }))));
    expect((await send([{ role: 'assistant', content: [{ text: 'hi' }] }])).message).toBe(MESSAGES.firstUser);
    expect(
      (
        await send([
          { role: 'user', content: [{ text: 'a' }] },
          { role: 'user', content: [{ text: 'b' }] },
        ])
      ).message,
    ).toBe(MESSAGES.alternate);
    const blank = await send([{ role: 'user', content: [{ text: '  ' }] }]);
    expect(blank).toMatchObject({
      name: 'ValidationException',
      message: MESSAGES.blank('messages.0.content.0'),
    });
  });

  it('rejects input above maxInputTokens as too long', async () => {
    standIn.config.models[MODEL] = { maxInputTokens: 100 };
    const error = await errorOf(client.send(new ConverseStreamCommand(request())));
    expect(error).toMatchObject({
      name: 'ValidationException',
      message: 'Input is too long for requested model.',
    });
  });
});

describe('failures during the stream', () => {
  const cases = [
    ['throttlingException', 'ThrottlingException', 'Too many tokens, please wait before trying again.'],
    [
      'modelStreamErrorException',
      'ModelStreamErrorException',
      'The model stream was interrupted. Try your request again.',
    ],
    ['internalServerException', 'InternalServerException', MESSAGES.serverError],
    ['serviceUnavailableException', 'ServiceUnavailableException', MESSAGES.unavailable],
    ['validationException', 'ValidationException', 'The model returned an invalid stream.'],
  ] as const;

  it.each(cases)(
    'a %s frame is thrown from the iterator as %s after some text',
    async (type, name, message) => {
      standIn.config.midStreamError = { afterDeltas: 3, type };
      const response = await client.send(new ConverseStreamCommand(request()));
      let text = '';
      let deltas = 0;
      const error = await errorOf(
        (async () => {
          for await (const event of response.stream!) {
            const t = event.contentBlockDelta?.delta?.text;
            if (t) {
              text += t;
              deltas++;
            }
          }
        })(),
      );
      expect(error.name).toBe(name);
      expect(error.message).toBe(message);
      expect(deltas).toBe(3);
      expect(text.length).toBeGreaterThan(0);
      expect(standIn.requests[0]!.outcome).toBe(`stream:${type}`);
    },
  );

  it('a custom message, and only the first N calls (per model override)', async () => {
    standIn.config.models[MODEL] = {
      midStreamError: { afterDeltas: 0, type: 'throttlingException', message: 'slow down', times: 1 },
    };
    const response = await client.send(new ConverseStreamCommand(request()));
    expect(await errorOf(collect(response))).toMatchObject({
      name: 'ThrottlingException',
      message: 'slow down',
    });
    expect((await run(request())).stopReason).toBe('end_turn');
  });

  it('a stall is NOT caught by requestTimeout (headers already came); socketTimeout catches it as TimeoutError', async () => {
    standIn.config.stallAfterDeltas = 2;
    const withRequestTimeout = makeClient({
      requestTimeout: 200,
      connectionTimeout: 1000,
      throwOnRequestTimeout: true,
    });
    const response = await withRequestTimeout.send(new ConverseStreamCommand(request()));
    const pending = collect(response).then(
      () => 'ended',
      (e: Error) => e.name,
    );
    const raced = await Promise.race([
      pending,
      new Promise((r) => setTimeout(() => r('still waiting'), 700)),
    ]);
    expect(raced).toBe('still waiting');
    withRequestTimeout.destroy();

    const withSocketTimeout = makeClient({ socketTimeout: 300, connectionTimeout: 1000 });
    const t0 = Date.now();
    const stalled = await withSocketTimeout.send(new ConverseStreamCommand(request()));
    const error = await errorOf(collect(stalled));
    expect(error.name).toBe('TimeoutError');
    expect(error.message).toBe(
      '@smithy/node-http-handler - the request socket timed out after 300 ms of inactivity (configured by client requestHandler).',
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(Date.now() - t0).toBeLessThan(1500);
    withSocketTimeout.destroy();
    expect(standIn.requests.map((r) => r.outcome)).toEqual(['stall', 'stall']);
    expect(standIn.outcomes).toEqual({ stall: 2 });
  });

  it('stallAfterDeltas 0 (nothing after the 200 headers) makes client.send() itself time out', async () => {
    standIn.config.models[MODEL] = { stallAfterDeltas: 0, stallTimes: 1 };
    const c = makeClient({ socketTimeout: 200 });
    // The SDK reads the first event-stream frame before send() resolves, so the error comes from send().
    const error = await errorOf(c.send(new ConverseStreamCommand(request())));
    expect(error.name).toBe('TimeoutError');
    expect(error.message).toBe(
      '@smithy/node-http-handler - the request socket timed out after 200 ms of inactivity (configured by client requestHandler).\n' +
        '  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.',
    );
    expect(error.$metadata?.httpStatusCode).toBe(200);
    expect((await run(request(), c)).stopReason).toBe('end_turn');
    c.destroy();
  });

  it('close() destroys stalled connections (the iterator then fails with "aborted")', async () => {
    const own = await startBedrockStandIn({ stallAfterDeltas: 1, firstTokenMs: 1 });
    const c = new BedrockRuntimeClient({
      region: 'eu-north-1',
      endpoint: own.url,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
      requestHandler: new NodeHttpHandler({ requestTimeout: 2000, connectionTimeout: 1000 }),
      maxAttempts: 1,
    });
    const response = await c.send(new ConverseStreamCommand(request()));
    const pending = errorOf(collect(response));
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await own.close();
    expect(Date.now() - t0).toBeLessThan(500);
    const error = await pending;
    expect(error.message).toBe('aborted');
    expect(error.code).toBe('ECONNRESET');
    c.destroy();
  });
});

describe('out-of-process control', () => {
  const post = (body: unknown) =>
    fetch(`${standIn.url}/__control`, { method: 'POST', body: JSON.stringify(body) }).then(
      (r) => r.json() as Promise<any>,
    );

  it('POST /__control changes the config, GET /__requests lists the requests, reset clears them', async () => {
    const set = await post({
      models: { [MODEL]: { behaviour: 'throttle', times: 1 } },
      tokensPerSecond: 10_000,
    });
    expect(set.config.models[MODEL]).toEqual({ behaviour: 'throttle', times: 1 });
    expect(standIn.config.tokensPerSecond).toBe(10_000);
    expect((await errorOf(client.send(new ConverseStreamCommand(request())))).name).toBe(
      'ThrottlingException',
    );
    await run(request());
    const recorded = (await (await fetch(`${standIn.url}/__requests`)).json()) as any[];
    expect(recorded.map((r) => [r.modelId, r.outcome])).toEqual([
      [MODEL, 'ThrottlingException'],
      [MODEL, 'stream'],
    ]);
    expect(recorded[0].body.messages[0].role).toBe('user');
    const state = (await (await fetch(`${standIn.url}/__control`)).json()) as any;
    expect(state.calls).toEqual({ [MODEL]: 2 });
    expect(state.outcomes).toEqual({ ThrottlingException: 1, stream: 1 });
    expect(state.inFlight).toBe(0);
    const summary = (await (await fetch(`${standIn.url}/__requests?last=1&bodies=0`)).json()) as any[];
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ modelId: MODEL, outcome: 'stream', call: 2 });
    expect(summary[0].body).toBeUndefined();

    const reset = await post({ reset: true, firstTokenMs: 1 });
    expect(reset.config.models).toEqual({});
    expect(reset.config.tokensPerSecond).toBe(5000);
    expect(reset.config.firstTokenMs).toBe(1);
    expect(standIn.requests).toHaveLength(0);
    expect(reset.calls).toEqual({});

    // null restores a key's default; unknown keys are refused.
    expect((await post({ firstTokenMs: null })).config.firstTokenMs).toBe(20);
    const refused = await fetch(`${standIn.url}/__control`, { method: 'POST', body: '{"tokensPerSec":1}' });
    expect(refused.status).toBe(400);
  });

  it('runs as a CLI that prints its URL', async () => {
    const script = fileURLToPath(new URL('./stand-in.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, '--port', '0', '--tps', '5000', '--ttft', '1'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const state = (await (await fetch(`${url}/__control`)).json()) as any;
      expect(state.config).toMatchObject({ tokensPerSecond: 5000, firstTokenMs: 1 });
      const c = new BedrockRuntimeClient({
        region: 'eu-north-1',
        endpoint: url,
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
        requestHandler: new NodeHttpHandler({ requestTimeout: 2000, connectionTimeout: 1000 }),
        maxAttempts: 1,
      });
      expect((await run(request(), c)).stopReason).toBe('end_turn');
      c.destroy();
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }, 20_000);
});

describe('scripted answers and recorded requests', () => {
  it('answers from the script first, by kind and condition, each entry as many times as it says', async () => {
    const line = JSON.stringify({ type: 'critical', description: 'scripted', quote: 'Alerts fired' });
    standIn.script(
      { kind: 'chat', text: 'Scripted chat answer [s1].' },
      { kind: 'analysis', when: (body) => JSON.stringify(body).includes('Actions'), text: line, times: 2 },
    );
    expect((await run(request())).text).toBe(line);
    expect((await run(chatRequest())).text).toBe('Scripted chat answer [s1].');
    expect((await run(request())).text).toBe(line);
    // Used up: the built-in answers again.
    expect((await run(request())).text).not.toBe(line);
    expect((await run(chatRequest())).text).toContain('According to the document');
  });

  it('tells requests apart by kind, and the whole-document pass gets no findings unless scripted', async () => {
    const check = request({
      messages: [
        {
          role: 'user',
          content: [{ text: '<consistency-check>\nSections:\n[s1] Summary\n</consistency-check>' }],
        },
      ],
    });
    expect((await run(check)).text).not.toContain('{');
    await run(chatRequest());
    await run(request());
    expect(standIn.requestsOf('consistency')).toHaveLength(1);
    expect(standIn.requestsOf('chat')).toHaveLength(1);
    expect(standIn.requestsOf('analysis')).toHaveLength(1);
    standIn.script({ kind: 'consistency', text: (body) => `seen ${body.messages!.length}` });
    expect((await run(check)).text).toBe('seen 1');
  });
});
