/**
 * What an AI provider does for Prism: review one section against the rubric, emitting each
 * finding the moment it is complete, and answer a chat question, streaming its text. Providers
 * know nothing of Redis or the event log; jobs turn their output into events.
 */
import type { FeedbackType, Risk, Rubric, TeamPreferences, Usage } from '@prism/core';
import type { ChecklistRequest, ChecklistResult } from './checklist.ts';

export interface DocumentSection {
  id: string;
  title: string;
  text: string;
}

/** The review's document as every prompt of the review sees it (a byte-identical prefix). */
export interface DocumentContext {
  reviewId: string;
  title: string;
  sections: DocumentSection[];
  /** Text of the review's uploaded guidelines, when there are some. */
  guidelines?: string;
  /** The review's workspace rubric (CONTRACT 7.4); absent: the built-in default. */
  rubric?: Rubric;
  /** What the team's decisions say (CONTRACT 7.4, learning); absent: no history was taken. */
  preferences?: TeamPreferences;
}

/** A finding as a provider produces it; the job validates it, checks its quote and stores it. */
export interface Finding {
  type: FeedbackType;
  category: string;
  description: string;
  suggestion?: string;
  example?: string;
  questions: string[];
  /** Numbers of the rubric checkpoints the finding rests on. */
  refs: number[];
  risk: Risk;
  confidence: number;
  /** Verbatim text of one paragraph or table cell of the section. */
  quote?: string;
  /** Text that replaces `quote`, where a rewrite fits (CONTRACT 7.5). */
  replacement?: string;
}

/**
 * An item of the section the team has already decided on (or written themselves): the model is
 * told about them so it neither repeats a rejected point nor restates an accepted one.
 */
export interface DecidedItem {
  type: FeedbackType;
  category: string;
  description: string;
  quote?: string;
  status: 'accepted' | 'rejected';
  source: 'ai' | 'rules' | 'user';
  /** Who decided (or wrote) it. */
  decidedBy?: string;
  /** Why, when someone said so (a reply, or a person's item linked to it). */
  reason?: string;
}

/** One part of a section too long for one good analysis (split at sub-headings or paragraphs). */
export interface SectionPart {
  /** From 1. */
  index: number;
  count: number;
  /** Whole lines of the section, verbatim. */
  text: string;
}

export interface AnalysisRequest {
  document: DocumentContext;
  sectionId: string;
  thinking: boolean;
  /** At most this many findings, most important first (MAX_FINDINGS_PER_SECTION, or a part's share). */
  maxFindings?: number;
  /** The section's decided items, most recent first. */
  decided?: DecidedItem[];
  /** Set when the section is analysed in parts: the part this call reviews. */
  part?: SectionPart;
}

/** A cross-section finding: it quotes its own section, and the other place where there is one. */
export interface CrossFinding extends Finding {
  sectionId: string;
  /** The other place involved (another section and its words). */
  other?: { sectionId: string; quote?: string };
}

export interface CrossCheckRequest {
  document: DocumentContext;
  maxFindings: number;
  /** Decided items of the whole review, each with its section, so nothing rejected comes back. */
  decided: (DecidedItem & { sectionId: string })[];
}

export interface CrossCheckSink {
  finding(finding: CrossFinding): Promise<void>;
  started(model: string): Promise<void>;
}

export interface AnalysisSink {
  /** Called once per complete finding, in the order the model wrote them. */
  finding(finding: Finding): Promise<void>;
  /** Live reasoning text (extended thinking), when the provider has any. */
  reasoning(text: string): void;
  /**
   * Called before the first finding or reasoning text is handed over: from here on the answer has
   * reached the room, so no other model may be tried for this request.
   */
  started(model: string): Promise<void>;
}

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'other';

export interface AnalysisResult {
  model: string;
  usage: Usage;
  stopReason: StopReason;
  /** What the room should say about the section's review (e.g. the language the checks skip). */
  note?: string;
}

export interface ChatTurn {
  role: 'user' | 'assistant';
  author: string;
  text: string;
}

/** A finding as chat sees it: no ids, its decision and who made it. */
export interface ChatFinding {
  sectionId: string;
  type: FeedbackType;
  category: string;
  description: string;
  quote?: string;
  status: 'pending' | 'accepted' | 'rejected';
  source: 'ai' | 'rules' | 'user';
  decidedBy?: string;
}

export interface ChatRequest {
  document: DocumentContext;
  /** Earlier turns, oldest first, the question excluded. */
  history: ChatTurn[];
  question: ChatTurn;
  /** The section the asker was looking at. */
  sectionId?: string;
  /** The review's findings and the team's decisions, so chat can say what was decided and why. */
  findings?: ChatFinding[];
  /** Reason before answering, where the model can (the reasoning is not part of the answer). */
  thinking?: boolean;
}

export interface ChatSink {
  /** Answer text as it arrives; the job coalesces it before it touches Redis. */
  text(delta: string): void;
  started(model: string): Promise<void>;
}

export interface ChatResult {
  model: string;
  usage: Usage;
  text: string;
  stopReason: StopReason;
  /** Ids of sections the answer cites. */
  citations?: string[];
}

/** A failure the room is told about, with a stable code and a message for people. */
export class ProviderError extends Error {
  readonly code: string;
  /** True when trying again later may work (throttling everywhere, timeouts). */
  readonly retryable: boolean;
  constructor(code: string, message: string, retryable = false) {
    super(message);
    this.name = 'ProviderError';
    this.code = code;
    this.retryable = retryable;
  }
}

export interface AiProvider {
  readonly name: 'bedrock' | 'rules';
  /**
   * The longest section text one `analyze` call reviews well; longer sections are analysed in
   * parts of about this size. Unset: every section in one call.
   */
  readonly partChars?: number;
  analyze(request: AnalysisRequest, sink: AnalysisSink, signal: AbortSignal): Promise<AnalysisResult>;
  /**
   * The whole-document pass: contradictions and inconsistencies across sections. Providers
   * without one (the rules provider) skip the pass.
   */
  crossCheck?(request: CrossCheckRequest, sink: CrossCheckSink, signal: AbortSignal): Promise<AnalysisResult>;
  chat(request: ChatRequest, sink: ChatSink, signal: AbortSignal): Promise<ChatResult>;
  /**
   * The checklist (CONTRACT 7.4): one call judging every checkpoint of the rubric. Providers
   * without one (the rules provider) get the deterministic verdicts of ai/checklist-rules.ts.
   */
  checklist?(request: ChecklistRequest, signal: AbortSignal): Promise<ChecklistResult>;
  /** What /ready reports, without invoking a model. */
  describe(): Record<string, unknown>;
  /**
   * One minimal call through the chain (diagnostics): which model answered. Providers without
   * a model (the rules provider) leave it out.
   */
  probe?(signal: AbortSignal): Promise<ProbeResult>;
}

/** What a probe found: the model that answered and its usage (a token or so). */
export interface ProbeResult {
  model: string;
  usage: Usage;
}
