/**
 * A local stand-in for Amazon Bedrock Runtime `ConverseStream`, for tests and load tests: no test
 * ever calls AWS. Point `@aws-sdk/client-bedrock-runtime` at `standIn.url` (client `endpoint`, or
 * `BEDROCK_ENDPOINT_URL` for the worker) with a `NodeHttpHandler` (HTTP/1.1) request handler.
 *
 * Wire format: `POST /model/{url-encoded modelId}/converse-stream` with the Converse JSON body;
 * answers `200 application/vnd.amazon.eventstream` (event-stream frames), or an HTTP error with
 * `x-amzn-errortype` that the SDK maps to a typed exception. Answers follow Prism's prompt format
 * (worker/src/ai/prompts.ts): a `<section id=… title=…>` block in the last user turn gets JSON
 * Lines findings quoting the section verbatim; anything else gets chat prose citing `[sN]`.
 *
 * Behaviour knobs live in the mutable `standIn.config` (with per-model overrides in
 * `config.models`), also settable out of process through `POST /__control`. See README.md.
 *
 * CLI: `npx tsx test/bedrock/stand-in.ts --port 4599 --tps 60 --ttft 800 [--config '{json}']`
 * prints the URL on stdout and serves until SIGINT/SIGTERM.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

// ---------------------------------------------------------------------------------------------
// Types

/** What a model does with a call, before any streaming. */
export type ModelBehaviour =
  | 'ok'
  | 'throttle'
  | 'unknown'
  | 'end-of-life'
  | 'no-on-demand'
  | 'no-access'
  | 'not-ready'
  | 'server-error'
  | 'unavailable'
  | 'malformed'
  | 'too-long'
  | 'expired-credentials'
  | 'invalid-credentials';

/** `:exception-type` values of the ConverseStream output union. */
export type StreamExceptionType =
  | 'throttlingException'
  | 'internalServerException'
  | 'modelStreamErrorException'
  | 'serviceUnavailableException'
  | 'validationException';

export type StopReason =
  | 'end_turn'
  | 'max_tokens'
  | 'stop_sequence'
  | 'guardrail_intervened'
  | 'content_filtered';

export interface MidStreamError {
  /** Non-empty content deltas (reasoning and text) sent before the exception frame. */
  afterDeltas: number;
  type?: StreamExceptionType;
  message?: string;
  /** Only the first N calls to the model fail this way (default: every call). */
  times?: number;
}

/** The JSON body the SDK sends (modelId travels in the URL). Only what the stand-in reads is typed. */
export interface ConverseBody {
  system?: SystemBlock[];
  messages?: { role: string; content: ContentBlock[] }[];
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number; stopSequences?: string[] };
  additionalModelRequestFields?: Record<string, unknown>;
  [key: string]: unknown;
}
export type SystemBlock = { text?: string; cachePoint?: { type: string }; [key: string]: unknown };
export type ContentBlock = { text?: string; cachePoint?: { type: string }; [key: string]: unknown };

/** Knobs that apply to every model and that a model entry in `models` may override. */
export interface Knobs {
  /** Streaming speed (output tokens per second, ~4 characters a token). */
  tokensPerSecond: number;
  /** Delay before messageStart and the first delta. */
  firstTokenMs: number;
  /** Findings per analysis answer. */
  findingsPerSection: number;
  /** The last N findings get a confidence below 0.6 (the rest are >= 0.85). */
  lowConfidenceFindings: number;
  /** One finding quotes text that is not in the section. */
  invalidQuote: boolean;
  /** One finding is repeated with near-identical wording (one more line). */
  duplicateFinding: boolean;
  /** Approximate length of a chat answer, in tokens. */
  chatTokens: number;
  /** Approximate length of the reasoning block when thinking is enabled, in tokens. */
  reasoningTokens: number;
  /** Emit occasional empty-text deltas between real ones, as Bedrock sometimes does. */
  emptyDeltas: boolean;
  /** Send an exception frame mid-stream. */
  midStreamError: MidStreamError | null;
  /** After this many non-empty deltas stop writing, connection left open (0 = before any content). */
  stallAfterDeltas: number | null;
  /** Only the first N calls to the model stall (default: every call). */
  stallTimes?: number;
  /**
   * Force a stop reason: max_tokens cuts the answer inside its last line; content_filtered cuts it
   * in half; guardrail_intervened replaces it with `guardrailText`. Null: end_turn, or max_tokens
   * when `inferenceConfig.maxTokens` is smaller than the answer.
   */
  stopReason: StopReason | null;
  guardrailText: string;
  /** Wrap the JSON Lines in a ```json fence (models sometimes do). */
  codeFence: boolean;
  /** A line of prose before the JSON Lines (models sometimes do). */
  preamble: string | null;
  /** Requests estimated above this many input tokens get "Input is too long for requested model." */
  maxInputTokens: number;
  /** Below this many tokens a cachePoint prefix is neither written nor read (Claude: 1024). */
  minCacheTokens: number;
  /** How long a written cache prefix stays readable (refreshed on each read). */
  cacheTtlMs: number;
  /** Reject thinking with temperature != 1, budget_tokens < 1024, or maxTokens <= budget_tokens, as Claude does. */
  strictThinking: boolean;
  /** Replace the answer text entirely (in process only). */
  respond?: ((request: ConverseBody, modelId: string) => string) | undefined;
}

/** A model entry in `config.models`. */
export interface ModelSettings extends Partial<Knobs> {
  behaviour?: ModelBehaviour;
  /** The error behaviour applies to the first N calls only, then the model answers. */
  times?: number;
  /** Alias of `times`. */
  throttleTimes?: number;
  /** Reject `additionalModelRequestFields.thinking` with a ValidationException. */
  noThinking?: boolean;
  /** Reject `cachePoint` blocks with a ValidationException. */
  noCachePoint?: boolean;
}

export interface StandInConfig extends Knobs {
  /** modelId -> behaviour or settings; `'*'` is the default for ids not listed; unlisted: 'ok'. */
  models: Record<string, ModelBehaviour | ModelSettings>;
  /** Require an `authorization: AWS4-HMAC-SHA256 …` header (403 otherwise). */
  requireAuth: boolean;
  /** Keep only the latest N recorded requests (bodies hold the whole document; load tests make many). */
  recordLimit: number;
}

export interface StandInOptions extends Partial<StandInConfig> {
  port?: number;
  host?: string;
}

export interface RecordedRequest {
  modelId: string;
  body: ConverseBody;
  receivedAt: number;
  headers: Record<string, string | string[] | undefined>;
  /** 1-based count of calls to this model, this one included. */
  call: number;
  /** 'stream' when it streamed (even if it later failed mid-stream), else the error type sent. */
  outcome?: string;
}

/** What a request asks for, as Prism's prompts shape it (worker/src/ai/prompts.ts). */
export type RequestKind = 'analysis' | 'consistency' | 'checklist' | 'chat';

/** A scripted answer: the first queued one that matches a request answers it, then is used up. */
export interface ScriptedAnswer {
  /** Which requests it answers (default: any). */
  kind?: RequestKind;
  /** A further condition on the request. */
  when?: (request: ConverseBody, modelId: string) => boolean;
  /** The answer text, or a function of the request that makes it. */
  text: string | ((request: ConverseBody, modelId: string) => string);
  /** How many requests it answers (default 1; `Infinity` for every one). */
  times?: number;
}

export interface StandIn {
  url: string;
  port: number;
  config: StandInConfig;
  requests: RecordedRequest[];
  /** Calls per modelId since start/reset. */
  calls: Record<string, number>;
  /** Counts of final outcomes ('stream', 'stall', 'stream:<exceptionType>', '<ErrorType>') since start/reset. */
  outcomes: Record<string, number>;
  /** Streams currently open (stalled ones included). */
  inFlight(): number;
  callCount(modelId: string): number;
  /** Queues scripted answers, taken before `respond` and the built-in answers (in process only). */
  script(...answers: ScriptedAnswer[]): void;
  /** The recorded requests of one kind, oldest first. */
  requestsOf(kind: RequestKind): RecordedRequest[];
  /** Clears requests, call counts, scripted answers and the prompt cache; restores the config given at start. */
  reset(): void;
  /** Stops the server and destroys every connection, stalled streams included. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Defaults and Bedrock's own error messages

export const DEFAULT_CONFIG: StandInConfig = {
  tokensPerSecond: 200,
  firstTokenMs: 20,
  findingsPerSection: 3,
  lowConfidenceFindings: 0,
  invalidQuote: false,
  duplicateFinding: false,
  chatTokens: 60,
  reasoningTokens: 40,
  emptyDeltas: true,
  midStreamError: null,
  stallAfterDeltas: null,
  stopReason: null,
  guardrailText: 'Sorry, the model cannot answer this question.',
  codeFence: false,
  preamble: null,
  maxInputTokens: 200_000,
  minCacheTokens: 0,
  cacheTtlMs: 300_000,
  strictThinking: true,
  models: {},
  requireAuth: true,
  recordLimit: 1000,
};

interface HttpError {
  status: number;
  type: string;
  message: string;
}

const CORAL = 'http://internal.amazon.com/coral/com.amazon.bedrock/';

export const MESSAGES = {
  throttle: 'Too many requests, please wait before trying again.',
  unknown: 'The provided model identifier is invalid.',
  endOfLife:
    'This model version has reached the end of its life. Please refer to the AWS documentation for more details.',
  noOnDemand: (modelId: string) =>
    `Invocation of model ID ${modelId} with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.`,
  noAccess: "You don't have access to the model with the specified model ID.",
  notReady:
    'Model is not ready to serve inference requests. The AWS SDK will automatically retry the operation.',
  serverError: 'The system encountered an unexpected error during processing. Try your request again.',
  unavailable: 'Bedrock is unable to process your request.',
  malformed:
    'Malformed input request: #: extraneous key [foo] is not permitted, please reformat your input and try again.',
  tooLong: 'Input is too long for requested model.',
  expired: 'The security token included in the request is expired',
  invalidToken: 'The security token included in the request is invalid.',
  noThinking: 'The model returned the following errors: thinking: Extra inputs are not permitted',
  noCachePoint:
    'You invoked an unsupported model or your request did not allow prompt caching. See the documentation for more information.',
  thinkingTemperature:
    'The model returned the following errors: `temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking',
  thinkingBudget:
    'The model returned the following errors: thinking.enabled.budget_tokens: Input should be greater than or equal to 1024',
  thinkingMaxTokens:
    'The model returned the following errors: `max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size',
  firstUser:
    'A conversation must start with a user message. Try again with a conversation that starts with a user message.',
  alternate:
    'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.',
  blank: (path: string) =>
    `The text field in the ContentBlock object at ${path} is blank. Add text to the text field, and try again.`,
} as const;

const behaviourError = (behaviour: ModelBehaviour, modelId: string): HttpError | null => {
  switch (behaviour) {
    case 'ok':
      return null;
    case 'throttle':
      return { status: 429, type: 'ThrottlingException', message: MESSAGES.throttle };
    case 'unknown':
      return { status: 400, type: 'ValidationException', message: MESSAGES.unknown };
    case 'end-of-life':
      return { status: 404, type: 'ResourceNotFoundException', message: MESSAGES.endOfLife };
    case 'no-on-demand':
      return { status: 400, type: 'ValidationException', message: MESSAGES.noOnDemand(modelId) };
    case 'no-access':
      return { status: 403, type: 'AccessDeniedException', message: MESSAGES.noAccess };
    case 'not-ready':
      return { status: 429, type: 'ModelNotReadyException', message: MESSAGES.notReady };
    case 'server-error':
      return { status: 500, type: 'InternalServerException', message: MESSAGES.serverError };
    case 'unavailable':
      return { status: 503, type: 'ServiceUnavailableException', message: MESSAGES.unavailable };
    case 'malformed':
      return { status: 400, type: 'ValidationException', message: MESSAGES.malformed };
    case 'too-long':
      return { status: 400, type: 'ValidationException', message: MESSAGES.tooLong };
    case 'expired-credentials':
      return { status: 403, type: 'ExpiredTokenException', message: MESSAGES.expired };
    case 'invalid-credentials':
      return { status: 403, type: 'UnrecognizedClientException', message: MESSAGES.invalidToken };
  }
};

const STREAM_MESSAGES: Record<StreamExceptionType, string> = {
  throttlingException: 'Too many tokens, please wait before trying again.',
  internalServerException:
    'The system encountered an unexpected error during processing. Try your request again.',
  modelStreamErrorException: 'The model stream was interrupted. Try your request again.',
  serviceUnavailableException: 'Bedrock is unable to process your request.',
  validationException: 'The model returned an invalid stream.',
};

const KNOB_KEYS = new Set<string>(Object.keys(DEFAULT_CONFIG).concat(['respond', 'stallTimes']));

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Deterministic PRNG (mulberry32) seeded from a string, so a request always gets the same answer. */
function rngFrom(seed: string): () => number {
  let a = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tokensOf = (chars: number): number => Math.ceil(chars / 4);

/** Splits text into ~4-character "tokens"; their concatenation is the text. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S{1,4}|\s+/g) ?? [];
}

/** Groups tokens into deltas of 1-4 tokens. */
function chunk(text: string, rng: () => number): { text: string; tokens: number }[] {
  const tokens = tokenize(text);
  const chunks: { text: string; tokens: number }[] = [];
  for (let i = 0; i < tokens.length; ) {
    const n = 1 + Math.floor(rng() * 4);
    chunks.push({ text: tokens.slice(i, i + n).join(''), tokens: Math.min(n, tokens.length - i) });
    i += n;
  }
  return chunks;
}

const textOf = (blocks: { text?: string }[] | undefined): string =>
  (blocks ?? [])
    .map((b) => (typeof b.text === 'string' ? b.text : ''))
    .filter(Boolean)
    .join('\n');

/** The system prompt's text (every block before and after the cache point). */
export const systemTextOf = (body: ConverseBody): string => textOf(body.system);

/** The text of the last user turn (the task, after the cache point). */
export const lastUserTextOf = (body: ConverseBody): string =>
  textOf([...(body.messages ?? [])].reverse().find((m) => m.role === 'user')?.content);

/** Analysis holds a `<section …>` block, the whole-document pass `<consistency-check>`, chat neither. */
export function requestKind(body: ConverseBody): RequestKind {
  const text = lastUserTextOf(body);
  if (SECTION_RE.test(text)) return 'analysis';
  if (text.includes('<consistency-check>')) return 'consistency';
  if (text.includes('<checklist>')) return 'checklist';
  return 'chat';
}

/** What the built-in whole-document pass answers: the sections agree (no finding lines). */
export const CONSISTENT_ANSWER = 'The sections agree with each other: no inconsistencies found.';

const firstWords = (text: string, n: number): string => {
  const words = text.split(/\s+/).filter(Boolean);
  return words.length > n ? `${words.slice(0, n).join(' ')}…` : words.join(' ');
};

// ---------------------------------------------------------------------------------------------
// Answers

const SECTION_RE = /<section id="([^"]+)" title="([^"]*)">\n([\s\S]*?)\n<\/section>/;

const FINDING_KINDS = [
  {
    type: 'important',
    category: 'Actions',
    ref: 7,
    risk: 'medium',
    describe: (q: string) =>
      `"${q}" names no owner or due date, so nobody is accountable for following it through.`,
    suggest: 'Name the owner and a due date for this action.',
    ask: (q: string) => `Who owns "${q}", and by when will it be done?`,
  },
  {
    type: 'suggestion',
    category: 'Clarity',
    ref: 9,
    risk: 'low',
    describe: (q: string) => `"${q}" is vague: a reader has to guess what exactly is meant and by whom.`,
    suggest: 'Say precisely what happened, who did it and what it means for the reader.',
    ask: (q: string) => `What exactly does "${q}" refer to?`,
  },
  {
    type: 'critical',
    category: 'Evidence',
    ref: 3,
    risk: 'high',
    describe: (q: string) =>
      `The claim "${q}" is asserted without data, logs or sources that would let anyone check it.`,
    suggest: 'Back the claim with the data or logs it rests on, and link them.',
    ask: (q: string) => `What evidence supports "${q}"?`,
  },
  {
    type: 'positive',
    category: 'Impact',
    ref: 5,
    risk: 'low',
    describe: (q: string) =>
      `"${q}" states the facts concretely, which is exactly what the review team needs.`,
    suggest: 'Keep this level of precision in the other sections.',
    ask: (_q: string) => 'Could the same measurements be given for the other affected areas?',
  },
  {
    type: 'important',
    category: 'Timeline',
    ref: 6,
    risk: 'medium',
    describe: (q: string) => `"${q}" gives no date or time, so the order of events cannot be reconstructed.`,
    suggest: 'Add dates and times (with time zone) and explain any gaps.',
    ask: (q: string) => `When did "${q}" happen?`,
  },
  {
    type: 'suggestion',
    category: 'Consistency',
    ref: 10,
    risk: 'low',
    describe: (q: string) =>
      `Check that "${q}" agrees with the names and numbers used in the other sections.`,
    suggest: 'Use the same names, numbers and dates throughout the document.',
    ask: (_q: string) => 'Are these figures the same as in the summary?',
  },
] as const;

/** A verbatim part of a line: the whole line when short, else one of its clauses. */
function quoteFrom(line: string, rng: () => number): string {
  const trimmed = line.trim();
  if (trimmed.length <= 100) return trimmed;
  const clauses = (trimmed.match(/[^.;:!?,]+[.;:!?,]?/g) ?? [])
    .map((c) => c.trim().replace(/,$/, ''))
    .filter((c) => c.length >= 20);
  if (clauses.length === 0) return trimmed;
  return clauses[Math.floor(rng() * clauses.length)]!;
}

const INVENTED_QUOTES = [
  'All stakeholders signed off on the final remediation plan before the outage ended.',
  'The vendor confirmed in writing that no customer data was exposed at any point.',
];

export function analysisAnswer(
  section: { id: string; text: string },
  knobs: Knobs,
  rng: () => number,
): string {
  const lines = section.text.split('\n').filter((l) => l.trim() !== '');
  const n = Math.max(0, knobs.findingsPerSection);
  const findings: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const kind = FINDING_KINDS[i % FINDING_KINDS.length]!;
    const line = lines.length ? lines[Math.floor((i * lines.length) / Math.max(n, 1))]! : '';
    const quote = line ? quoteFrom(line, rng) : undefined;
    const words = quote ? firstWords(quote, 8) : `section ${section.id}`;
    let description = kind.describe(words);
    if (seen.has(description)) description += ` (point ${i + 1})`;
    seen.add(description);
    const low = i >= n - knobs.lowConfidenceFindings;
    const confidence = low ? 0.35 + Math.round(rng() * 20) / 100 : 0.86 + Math.round(rng() * 11) / 100;
    const finding: Record<string, unknown> = {
      type: kind.type,
      category: kind.category,
      description,
      suggestion: kind.suggest,
      ...(kind.type === 'suggestion' && quote
        ? { example: `${quote.replace(/[.;:!?]$/, '')}, as measured on the day.` }
        : {}),
      questions: [kind.ask(words)],
      refs: [kind.ref],
      risk: kind.risk,
      confidence: Math.round(confidence * 100) / 100,
      ...(quote ? { quote } : {}),
    };
    findings.push(finding);
  }
  if (knobs.invalidQuote && findings.length) {
    const target = findings[Math.min(1, findings.length - 1)]!;
    const haystack = section.text.toLowerCase();
    let invented = INVENTED_QUOTES.find((q) => !haystack.includes(q.toLowerCase())) ?? INVENTED_QUOTES[0]!;
    while (haystack.includes(invented.toLowerCase())) invented += ' Twice.';
    target.quote = invented;
  }
  if (knobs.duplicateFinding && findings.length) {
    const original = findings[0]!;
    const copy = {
      ...original,
      description: `${String(original.description).replace(/\.$/, '')}, as noted.`,
    };
    findings.splice(1, 0, copy);
  }
  let text = findings.map((f) => JSON.stringify(f)).join('\n');
  if (knobs.codeFence) text = '```json\n' + text + '\n```';
  if (knobs.preamble) text = knobs.preamble + '\n' + text;
  return text;
}

const CHECKLIST_VERDICTS = ['pass', 'fail', 'partial', 'pass', 'na'] as const;

/**
 * The checklist (`<checklist>` in the last user turn): one JSON line per checkpoint the task lists
 * (`N. Title: ...`), verdicts in a fixed cycle, each quoting a line of a section of the document
 * in the system prompt word for word; with `invalidQuote`, the first also cites a sentence the
 * document does not have.
 */
export function checklistAnswer(system: string, task: string, knobs: Knobs, rng: () => number): string {
  const block = task.slice(task.indexOf('<checklist>'), task.indexOf('</checklist>'));
  const checkpoints = [...block.matchAll(/^(\d+)\. ([^:\n]+):/gm)].map((m) => ({
    n: Number(m[1]),
    title: m[2]!,
  }));
  const sections = [...system.matchAll(new RegExp(SECTION_RE.source, 'g'))].map((m) => ({
    id: m[1]!,
    lines: m[3]!.split('\n').filter((l) => l.trim() !== ''),
  }));
  return checkpoints
    .map(({ n, title }, i) => {
      const section = sections[i % Math.max(1, sections.length)];
      const line = section?.lines[Math.min(1, section.lines.length - 1)];
      const evidence = section && line ? [{ sectionId: section.id, quote: quoteFrom(line, rng) }] : [];
      if (knobs.invalidQuote && i === 0 && section) {
        evidence.push({ sectionId: section.id, quote: INVENTED_QUOTES[0]! });
      }
      const verdict = CHECKLIST_VERDICTS[i % CHECKLIST_VERDICTS.length]!;
      return JSON.stringify({
        n,
        verdict,
        explanation: `${title}: the document is judged ${verdict} on this checkpoint.`,
        evidence,
      });
    })
    .join('\n');
}

const CHAT_FILLER = [
  'The document does not give more detail than that, so treat anything beyond it as an assumption.',
  'If the team needs a firmer answer, ask the author to add the supporting figures.',
  'Nothing in the other sections contradicts this reading.',
  'The rubric asks for evidence here, and the text only partly provides it.',
  'A short follow-up with the owner would settle the remaining questions.',
];

export function chatAnswer(system: string, question: string, knobs: Knobs, rng: () => number): string {
  const match = /<section id="([^"]+)" title="([^"]*)">\n([\s\S]*?)\n<\/section>/.exec(system);
  const parts: string[] = [];
  if (match) {
    const [, id, title, text] = match;
    const firstLine = (text ?? '').split('\n').find((l) => l.trim()) ?? '';
    parts.push(`According to the document, ${title || 'the first section'} [${id}] is the relevant part.`);
    if (firstLine) parts.push(`It says: "${firstWords(firstLine.trim(), 14)}".`);
    const asked = /section \[(s\d+)\]/.exec(question)?.[1];
    if (asked && asked !== id) parts.push(`See also [${asked}], which you are looking at.`);
  } else {
    parts.push('The document does not say enough to answer that directly.');
  }
  const target = Math.max(1, knobs.chatTokens) * 4;
  let text = parts.join(' ');
  let i = Math.floor(rng() * CHAT_FILLER.length);
  while (text.length < target) text += ' ' + CHAT_FILLER[i++ % CHAT_FILLER.length];
  if (text.length > target + 20) {
    const cut = text.lastIndexOf(' ', target);
    text = text.slice(0, Math.max(cut, parts.join(' ').length)).replace(/[,;:.\s]*$/, '') + '.';
  }
  return text;
}

function reasoningText(section: { id: string; title: string } | null, tokens: number): string {
  const base = section
    ? `I need to review section ${section.id} "${section.title}" against the rubric. First I will check whether its claims are backed by evidence. Then I will look at actions, owners and dates. Finally I will note what the section does well, and quote each line exactly.`
    : 'The question is about the document as a whole. I will find the section that answers it, cite it by id, and say plainly where the document is silent.';
  let text = base;
  while (tokensOf(text.length) < tokens) text += ' Let me double-check that against the text once more.';
  return text;
}

// ---------------------------------------------------------------------------------------------
// The server

type Frame = Parameters<EventStreamCodec['encode']>[0];

export async function startBedrockStandIn(options: StandInOptions = {}): Promise<StandIn> {
  const { port: wantPort = 0, host = '127.0.0.1', ...given } = options;
  const initial = (): StandInConfig => ({ ...DEFAULT_CONFIG, models: {}, ...copyPlain(given) });
  const config: StandInConfig = initial();
  const requests: RecordedRequest[] = [];
  const scripted: (ScriptedAnswer & { left: number })[] = [];
  /** The first scripted answer for this request, used up; undefined when none matches. */
  const takeScripted = (body: ConverseBody, modelId: string): string | undefined => {
    const kind = requestKind(body);
    const at = scripted.findIndex(
      (entry) => (!entry.kind || entry.kind === kind) && (!entry.when || entry.when(body, modelId)),
    );
    if (at < 0) return undefined;
    const entry = scripted[at]!;
    entry.left -= 1;
    if (entry.left <= 0) scripted.splice(at, 1);
    return typeof entry.text === 'function' ? entry.text(body, modelId) : entry.text;
  };
  const calls: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  let inFlight = 0;
  const setOutcome = (record: RecordedRequest, outcome: string) => {
    const previous = record.outcome;
    if (previous && outcomes[previous] !== undefined) {
      outcomes[previous]--;
      if (outcomes[previous] === 0) delete outcomes[previous];
    }
    record.outcome = outcome;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  };
  /** modelId + system-prefix hash -> expiry. */
  const cache = new Map<string, number>();
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  const sockets = new Set<Socket>();
  const sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  let closing = false;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const entry = {
        timer: setTimeout(
          () => {
            sleepers.delete(entry);
            resolve();
          },
          Math.max(0, ms),
        ),
        resolve,
      };
      sleepers.add(entry);
    });

  const frame = (eventType: string, payload: unknown): Uint8Array => {
    const message: Frame = {
      headers: {
        ':event-type': { type: 'string', value: eventType },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'event' },
      },
      body: fromUtf8(JSON.stringify(payload)),
    };
    return codec.encode(message);
  };
  const exceptionFrame = (type: string, message: string): Uint8Array =>
    codec.encode({
      headers: {
        ':exception-type': { type: 'string', value: type },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'exception' },
      },
      body: fromUtf8(JSON.stringify({ message })),
    });

  const sendJson = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-amzn-requestid': randomUUID(),
      ...headers,
    });
    res.end(JSON.stringify(body));
  };
  const sendError = (res: ServerResponse, error: HttpError) => {
    const suffix = /Token|Signature|UnrecognizedClient/.test(error.type)
      ? 'http://internal.amazon.com/coral/com.amazon.coral.service/'
      : CORAL;
    sendJson(
      res,
      error.status,
      { message: error.message },
      { 'x-amzn-errortype': `${error.type}:${suffix}` },
    );
  };

  const settingsFor = (modelId: string): ModelSettings => {
    const entry = config.models[modelId] ?? config.models['*'];
    if (!entry) return {};
    return typeof entry === 'string' ? { behaviour: entry } : entry;
  };
  const knobsFor = (settings: ModelSettings): Knobs => {
    const knobs: Knobs = { ...config };
    for (const [key, value] of Object.entries(settings)) {
      if (KNOB_KEYS.has(key) && value !== undefined)
        (knobs as unknown as Record<string, unknown>)[key] = value;
    }
    return knobs;
  };

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  /** Request checks Bedrock (or the model behind it) makes; returns the error to send, if any. */
  const validate = (
    body: ConverseBody,
    settings: ModelSettings,
    knobs: Knobs,
    inputTokens: number,
  ): HttpError | null => {
    const invalid = (message: string): HttpError => ({ status: 400, type: 'ValidationException', message });
    const messages = body.messages ?? [];
    if (messages.length && messages[0]!.role !== 'user') return invalid(MESSAGES.firstUser);
    for (let i = 1; i < messages.length; i++) {
      if (messages[i]!.role === messages[i - 1]!.role) return invalid(MESSAGES.alternate);
    }
    for (const [i, m] of messages.entries()) {
      for (const [j, block] of (m.content ?? []).entries()) {
        if ('text' in block && typeof block.text === 'string' && block.text.trim() === '') {
          return invalid(MESSAGES.blank(`messages.${i}.content.${j}`));
        }
      }
    }
    const thinking = body.additionalModelRequestFields?.thinking as
      | { type?: string; budget_tokens?: number }
      | undefined;
    if (thinking !== undefined && settings.noThinking) return invalid(MESSAGES.noThinking);
    if (thinking?.type === 'enabled' && knobs.strictThinking) {
      const temperature = body.inferenceConfig?.temperature;
      if (temperature !== undefined && temperature !== 1) return invalid(MESSAGES.thinkingTemperature);
      const budget = thinking.budget_tokens ?? 0;
      if (budget < 1024) return invalid(MESSAGES.thinkingBudget);
      const maxTokens = body.inferenceConfig?.maxTokens;
      if (maxTokens !== undefined && maxTokens <= budget) return invalid(MESSAGES.thinkingMaxTokens);
    }
    const hasCachePoint =
      (body.system ?? []).some((b) => b.cachePoint) ||
      messages.some((m) => (m.content ?? []).some((b) => b.cachePoint));
    if (hasCachePoint && settings.noCachePoint) return invalid(MESSAGES.noCachePoint);
    if (inputTokens > knobs.maxInputTokens) return invalid(MESSAGES.tooLong);
    return null;
  };

  const handleConverse = async (req: IncomingMessage, res: ServerResponse, modelId: string, raw: string) => {
    const started = Date.now();
    let body: ConverseBody;
    try {
      body = JSON.parse(raw || '{}') as ConverseBody;
    } catch {
      sendError(res, { status: 400, type: 'SerializationException', message: 'Invalid JSON body.' });
      return;
    }
    calls[modelId] = (calls[modelId] ?? 0) + 1;
    const call = calls[modelId]!;
    const record: RecordedRequest = { modelId, body, receivedAt: started, headers: { ...req.headers }, call };
    requests.push(record);
    while (requests.length > Math.max(0, config.recordLimit)) requests.shift();

    const settings = settingsFor(modelId);
    const knobs = knobsFor(settings);
    const times = settings.times ?? settings.throttleTimes;
    const behaviour = times === undefined || call <= times ? (settings.behaviour ?? 'ok') : 'ok';
    const systemText = textOf(body.system);
    const messagesText = (body.messages ?? []).map((m) => textOf(m.content)).join('\n');
    const inputTokensTotal = tokensOf(systemText.length + messagesText.length);
    const error = behaviourError(behaviour, modelId) ?? validate(body, settings, knobs, inputTokensTotal);
    if (error) {
      setOutcome(record, error.type);
      sendError(res, error);
      return;
    }
    setOutcome(record, 'stream');

    // Prompt cache: the system blocks before the first cachePoint form the cached prefix.
    const system = body.system ?? [];
    const cacheAt = system.findIndex((b) => b.cachePoint);
    let cacheRead = 0;
    let cacheWrite = 0;
    if (cacheAt >= 0) {
      const prefix = system.slice(0, cacheAt);
      const prefixTokens = tokensOf(textOf(prefix).length);
      if (prefixTokens >= knobs.minCacheTokens && prefixTokens > 0) {
        const key = modelId + ':' + createHash('sha256').update(JSON.stringify(prefix)).digest('hex');
        const expiry = cache.get(key);
        if (expiry !== undefined && expiry > started) cacheRead = prefixTokens;
        else cacheWrite = prefixTokens;
        cache.set(key, started + knobs.cacheTtlMs);
      }
    }

    // The answer.
    const rng = rngFrom(modelId + '\n' + raw);
    const lastUser = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
    const userText = textOf(lastUser?.content);
    const sectionMatch = SECTION_RE.exec(userText);
    const section = sectionMatch
      ? { id: sectionMatch[1]!, title: sectionMatch[2]!, text: sectionMatch[3]! }
      : null;
    let text =
      takeScripted(body, modelId) ??
      (knobs.respond
        ? knobs.respond(body, modelId)
        : section
          ? analysisAnswer(section, knobs, rng)
          : requestKind(body) === 'consistency'
            ? CONSISTENT_ANSWER
            : requestKind(body) === 'checklist'
              ? checklistAnswer(systemText, userText, knobs, rng)
              : chatAnswer(systemText, userText, knobs, rng));
    const thinkingOn =
      (body.additionalModelRequestFields?.thinking as { type?: string } | undefined)?.type === 'enabled';
    const reasoning = thinkingOn ? reasoningText(section, knobs.reasoningTokens) : '';

    let stopReason: StopReason = 'end_turn';
    const maxTokens = body.inferenceConfig?.maxTokens;
    if (knobs.stopReason === 'max_tokens') {
      const lastBreak = text.lastIndexOf('\n');
      const lastLine = text.length - lastBreak - 1;
      text =
        lastLine > 1
          ? text.slice(0, lastBreak + 1 + Math.ceil(lastLine * (lastBreak >= 0 ? 0.5 : 0.7)))
          : text;
      stopReason = 'max_tokens';
    } else if (knobs.stopReason === 'content_filtered') {
      text = text.slice(0, Math.ceil(text.length / 2));
      stopReason = 'content_filtered';
    } else if (knobs.stopReason === 'guardrail_intervened') {
      text = knobs.guardrailText;
      stopReason = 'guardrail_intervened';
    } else if (knobs.stopReason) {
      stopReason = knobs.stopReason;
    }
    if (maxTokens !== undefined && tokensOf(reasoning.length + text.length) > maxTokens) {
      text = text.slice(0, Math.max(0, maxTokens * 4 - reasoning.length));
      stopReason = 'max_tokens';
    }

    // The stream.
    let gone = false;
    inFlight++;
    res.on('close', () => {
      gone = true;
      inFlight--;
    });
    res.writeHead(200, {
      'content-type': 'application/vnd.amazon.eventstream',
      'x-amzn-requestid': randomUUID(),
    });
    res.flushHeaders();
    const write = (bytes: Uint8Array) => {
      if (!gone && !closing) res.write(bytes);
    };
    const stopped = () => gone || closing;

    const mid = knobs.midStreamError;
    const midActive = mid && (mid.times === undefined || call <= mid.times) ? mid : null;
    const stallActive =
      knobs.stallAfterDeltas !== null && (knobs.stallTimes === undefined || call <= knobs.stallTimes)
        ? knobs.stallAfterDeltas
        : null;
    let sent = 0;
    let began = false;
    /** Checks before each non-empty delta; true when the stream must end here. */
    const interrupt = (): 'stall' | 'error' | null => {
      if (stallActive !== null && sent >= stallActive) return 'stall';
      if (midActive && sent >= midActive.afterDeltas) return 'error';
      return null;
    };
    const handleInterrupt = (what: 'stall' | 'error') => {
      setOutcome(
        record,
        what === 'stall' ? 'stall' : `stream:${midActive!.type ?? 'modelStreamErrorException'}`,
      );
      if (what === 'error') {
        const type = midActive!.type ?? 'modelStreamErrorException';
        write(exceptionFrame(type, midActive!.message ?? STREAM_MESSAGES[type]));
        if (!stopped()) res.end();
      }
      // A stall leaves the response open until the client gives up or close() runs.
    };

    await sleep(knobs.firstTokenMs);
    const begin = () => {
      if (!began) write(frame('messageStart', { role: 'assistant' }));
      began = true;
    };
    const blocks: { index: number; kind: 'reasoning' | 'text'; content: string }[] = [];
    if (reasoning) blocks.push({ index: 0, kind: 'reasoning', content: reasoning });
    blocks.push({ index: blocks.length, kind: 'text', content: text });

    for (const block of blocks) {
      const pieces = chunk(block.content, rng);
      for (const piece of pieces) {
        if (stopped()) return;
        const cut = interrupt();
        if (cut) {
          if (cut === 'error') begin();
          handleInterrupt(cut);
          return;
        }
        if (sent > 0) await sleep((piece.tokens / Math.max(knobs.tokensPerSecond, 0.001)) * 1000);
        if (stopped()) return;
        begin();
        if (knobs.emptyDeltas && block.kind === 'text' && rng() < 0.08) {
          write(frame('contentBlockDelta', { contentBlockIndex: block.index, delta: { text: '' } }));
        }
        const delta =
          block.kind === 'text' ? { text: piece.text } : { reasoningContent: { text: piece.text } };
        write(frame('contentBlockDelta', { contentBlockIndex: block.index, delta }));
        sent++;
      }
      if (stopped()) return;
      begin();
      if (block.kind === 'reasoning') {
        const signature = createHash('sha256').update(block.content).digest('base64');
        write(
          frame('contentBlockDelta', {
            contentBlockIndex: block.index,
            delta: { reasoningContent: { signature } },
          }),
        );
      }
      write(frame('contentBlockStop', { contentBlockIndex: block.index }));
    }
    // An interrupt set at exactly the number of deltas the answer has fires at the end.
    const cut = interrupt();
    if (cut) {
      handleInterrupt(cut);
      return;
    }
    const outputTokens = tokensOf(reasoning.length + text.length);
    const inputTokens = Math.max(0, inputTokensTotal - cacheRead - cacheWrite);
    write(frame('messageStop', { stopReason }));
    write(
      frame('metadata', {
        usage: {
          inputTokens,
          outputTokens,
          totalTokens: inputTokens + outputTokens + cacheRead + cacheWrite,
          ...(cacheAt >= 0 ? { cacheReadInputTokens: cacheRead, cacheWriteInputTokens: cacheWrite } : {}),
        },
        metrics: { latencyMs: Date.now() - started },
      }),
    );
    if (!stopped()) res.end();
  };

  const handleControl = (res: ServerResponse, raw: string) => {
    let patch: Record<string, unknown>;
    try {
      patch = JSON.parse(raw || '{}') as Record<string, unknown>;
    } catch {
      sendJson(res, 400, { message: 'Invalid JSON body.' });
      return;
    }
    if (patch.reset === true) standIn.reset();
    for (const [key, value] of Object.entries(patch)) {
      if (key === 'reset' || key === 'respond') continue;
      if (!(key in DEFAULT_CONFIG) && key !== 'stallTimes') {
        sendJson(res, 400, { message: `Unknown config key: ${key}` });
        return;
      }
      (config as unknown as Record<string, unknown>)[key] = value === null ? defaultOf(key) : value;
    }
    sendJson(res, 200, state());
  };

  const state = () => ({ config: publicConfig(), calls, outcomes, inFlight });
  const publicConfig = () => {
    const { respond, ...rest } = config;
    return { ...rest, respond: respond ? '(function)' : undefined };
  };

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const raw = await readBody(req);
      if (url.pathname === '/__control') {
        if (req.method === 'POST') return handleControl(res, raw);
        return sendJson(res, 200, state());
      }
      if (url.pathname === '/__requests') {
        if (req.method === 'DELETE') {
          requests.length = 0;
          return sendJson(res, 200, []);
        }
        // ?last=N keeps the latest N; ?bodies=0 leaves the (large) bodies out.
        const last = Number(url.searchParams.get('last') ?? requests.length);
        const picked = last > 0 ? requests.slice(-last) : [];
        const bodies = url.searchParams.get('bodies') !== '0';
        return sendJson(res, 200, bodies ? picked : picked.map(({ body: _body, ...rest }) => rest));
      }
      if (url.pathname === '/__health') return sendJson(res, 200, { ok: true });

      const route = /^\/model\/([^/]+)\/converse-stream$/.exec(url.pathname);
      if (!route || req.method !== 'POST') {
        return sendError(res, {
          status: 404,
          type: 'UnknownOperationException',
          message: `The stand-in only serves POST /model/{modelId}/converse-stream, not ${req.method} ${url.pathname}.`,
        });
      }
      if (config.requireAuth) {
        const auth = req.headers.authorization;
        if (!auth) {
          return sendError(res, {
            status: 403,
            type: 'MissingAuthenticationTokenException',
            message: 'Missing Authentication Token',
          });
        }
        if (!auth.startsWith('AWS4-HMAC-SHA256 ')) {
          return sendError(res, {
            status: 403,
            type: 'IncompleteSignatureException',
            message: `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters (AWS4-HMAC-SHA256).`,
          });
        }
      }
      await handleConverse(req, res, decodeURIComponent(route[1]!), raw);
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { message: `stand-in failure: ${(error as Error).message}` });
      else res.destroy();
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(wantPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const standIn: StandIn = {
    url: `http://${host}:${port}`,
    port,
    config,
    requests,
    calls,
    outcomes,
    inFlight: () => inFlight,
    callCount: (modelId) => calls[modelId] ?? 0,
    script(...answers) {
      for (const answer of answers) scripted.push({ ...answer, left: answer.times ?? 1 });
    },
    requestsOf: (kind) => requests.filter((request) => requestKind(request.body) === kind),
    reset() {
      requests.length = 0;
      scripted.length = 0;
      for (const key of Object.keys(calls)) delete calls[key];
      for (const key of Object.keys(outcomes)) delete outcomes[key];
      cache.clear();
      const fresh = initial();
      for (const key of Object.keys(config)) delete (config as unknown as Record<string, unknown>)[key];
      Object.assign(config, fresh);
    },
    async close() {
      closing = true;
      for (const sleeper of sleepers) {
        clearTimeout(sleeper.timer);
        sleeper.resolve();
      }
      sleepers.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await done;
    },
  };
  return standIn;
}

const defaultOf = (key: string): unknown => {
  const value = (DEFAULT_CONFIG as unknown as Record<string, unknown>)[key];
  return copyPlain(value);
};

/** Deep-copies plain objects and arrays (functions kept by reference) so reset() can restore options. */
function copyPlain<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copyPlain) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyPlain(v)])) as T;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// CLI

function parseArgs(argv: string[]): StandInOptions {
  const options: StandInOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const need = (): string => {
      if (value === undefined) throw new Error(`${flag} needs a value`);
      i++;
      return value;
    };
    switch (flag) {
      case '--port':
        options.port = Number(need());
        break;
      case '--host':
        options.host = need();
        break;
      case '--tps':
        options.tokensPerSecond = Number(need());
        break;
      case '--ttft':
        options.firstTokenMs = Number(need());
        break;
      case '--config':
        Object.assign(options, JSON.parse(need()) as StandInOptions);
        break;
      case '--help':
        console.log(
          'usage: npx tsx test/bedrock/stand-in.ts [--port 4599] [--host 127.0.0.1] [--tps 60] [--ttft 800] [--config JSON]',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${flag}`);
    }
  }
  return options;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const standIn = await startBedrockStandIn(parseArgs(process.argv.slice(2)));
  console.log(standIn.url);
  const stop = () => {
    void standIn.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
