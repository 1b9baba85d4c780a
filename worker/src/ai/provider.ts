/**
 * What an AI provider does for Prism: review one section against the rubric, emitting each
 * finding the moment it is complete, and answer a chat question, streaming its text. Providers
 * know nothing of Redis or the event log; jobs turn their output into events.
 */
import type { FeedbackType, Risk, Usage } from '@prism/core';

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
}

export interface AnalysisRequest {
  document: DocumentContext;
  sectionId: string;
  thinking: boolean;
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
}

export interface ChatTurn {
  role: 'user' | 'assistant';
  author: string;
  text: string;
}

export interface ChatRequest {
  document: DocumentContext;
  /** Earlier turns, oldest first, the question excluded. */
  history: ChatTurn[];
  question: ChatTurn;
  /** The section the asker was looking at. */
  sectionId?: string;
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
  analyze(request: AnalysisRequest, sink: AnalysisSink, signal: AbortSignal): Promise<AnalysisResult>;
  chat(request: ChatRequest, sink: ChatSink, signal: AbortSignal): Promise<ChatResult>;
  /** What /ready reports, without invoking a model. */
  describe(): Record<string, unknown>;
}
