// Shapes and events of CONTRACT.md sections 4-5, as the browser sees them (JSON over HTTP and Socket.IO).
// The web app cannot depend on @prism/core; this file mirrors core/src/schemas.ts and core/src/protocol.ts
// and must be kept in sync with them.

export type Role = 'owner' | 'reviewer' | 'viewer';

export interface User {
  id: string;
  name: string;
}

export interface Failure {
  code: string;
  message: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

export interface SectionSummary {
  id: string;
  title: string;
  level: number;
  index: number;
}

export const SECTION_STATUSES = ['idle', 'queued', 'analyzing', 'done', 'failed', 'cancelled'] as const;
export type SectionStatus = (typeof SECTION_STATUSES)[number];

export interface Section extends SectionSummary {
  /** Sanitized by the server (and again by the browser before it is shown). */
  html: string;
  text: string;
  status: SectionStatus;
  model?: string;
  error?: Failure;
  usage?: Usage;
}

export interface ReviewSummary {
  id: string;
  title: string;
  createdAt: string;
  owner: User;
  role: Role;
  sections: SectionSummary[];
}

export const FEEDBACK_TYPES = ['critical', 'important', 'suggestion', 'positive'] as const;
export type FeedbackType = (typeof FEEDBACK_TYPES)[number];
export const RISKS = ['high', 'medium', 'low'] as const;
export type Risk = (typeof RISKS)[number];
export const FEEDBACK_STATUSES = ['pending', 'accepted', 'rejected'] as const;
export type FeedbackStatus = (typeof FEEDBACK_STATUSES)[number];
export const FEEDBACK_SOURCES = ['ai', 'rules', 'user'] as const;
export type FeedbackSource = (typeof FEEDBACK_SOURCES)[number];

/** Field caps (core LIMITS): longer values get the ack error `too_long`. */
export const LIMITS = {
  description: 4000,
  suggestion: 4000,
  chatText: 4000,
  quote: 1000,
  category: 80,
} as const;

export interface FeedbackItem {
  id: string;
  sectionId: string;
  type: FeedbackType;
  category: string;
  description: string;
  suggestion?: string;
  example?: string;
  questions: string[];
  refs: number[];
  risk: Risk;
  confidence: number;
  quote?: string;
  linkedTo?: string;
  source: FeedbackSource;
  model?: string;
  status: FeedbackStatus;
  decidedBy?: User;
  decidedAt?: string;
  createdBy: User;
  createdAt: string;
  version: number;
}

export interface ChatMessage {
  id: string;
  role: 'user' | 'assistant';
  author: User;
  text: string;
  createdAt: string;
  status: 'streaming' | 'done' | 'failed';
  /** In a snapshot taken mid-reply: the index of the last delta already in `text`. */
  lastIndex?: number;
  model?: string;
  sectionId?: string;
  replyTo?: string;
  citations?: string[];
  error?: Failure;
}

export interface Member {
  user: User;
  role: Role;
  online: boolean;
}

export interface PresenceMember {
  user: User;
  role: Role;
  sectionId: string | null;
  typing: boolean;
  online: boolean;
}

export interface ReviewStats {
  total: number;
  byType: Record<string, number>;
  byRisk: Record<string, number>;
  byStatus: Record<string, number>;
  bySource: Record<string, number>;
  bySection: Record<string, number>;
  usage: {
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
    models: Record<string, number>;
  };
}

export interface ReviewSnapshot extends Omit<ReviewSummary, 'sections'> {
  seq: number;
  sections: Section[];
  feedback: FeedbackItem[];
  chat: ChatMessage[];
  members: Member[];
  stats: ReviewStats;
}

// ---------------------------------------------------------------------------------------------
// The review event log

export interface ReviewEventData {
  'section.status': {
    sectionId: string;
    status: SectionStatus;
    model?: string;
    error?: Failure;
    usage?: Usage;
  };
  'feedback.added': { item: FeedbackItem };
  'feedback.updated': { item: FeedbackItem };
  'feedback.deleted': { item: FeedbackItem };
  'chat.message': { message: ChatMessage };
  'chat.delta': { messageId: string; index: number; text: string };
  'chat.done': { messageId: string; text: string; model: string; usage: Usage; citations?: string[] };
  'chat.failed': { messageId: string; error: Failure };
  'analysis.delta': { sectionId: string; index: number; text: string };
  'member.joined': { user: User; role: Role };
  'export.ready': { jobId: string; location: string; files: string[] };
}

export type ReviewEventType = keyof ReviewEventData;

export type ReviewEvent<T extends ReviewEventType = ReviewEventType> = {
  [K in T]: { reviewId: string; seq: number; type: K; at: string; actor: User; data: ReviewEventData[K] };
}[T];

// ---------------------------------------------------------------------------------------------
// Socket.IO

export interface ErrorBody {
  error: { code: string; message: string };
}

export type AckOk<T> = { ok: true } & T;
export type AckError = { ok: false; error: Failure; item?: FeedbackItem };
export type AckResponse<T = Record<string, never>> = AckOk<T> | AckError;
export type Ack<T = Record<string, never>> = (response: AckResponse<T>) => void;

export type JoinResult =
  | { snapshot: ReviewSnapshot }
  | { events: ReviewEvent[] }
  | { reset: true; snapshot: ReviewSnapshot };

export interface JoinPayload {
  reviewId: string;
  since?: number;
}

export interface AnalysisStartPayload {
  reviewId: string;
  sectionIds?: string[];
  thinking?: boolean;
}

export interface AnalysisCancelPayload {
  reviewId: string;
  sectionIds?: string[];
}

export interface DecidePayload {
  reviewId: string;
  feedbackId: string;
  status: FeedbackStatus;
  version: number;
}

export interface AddFeedbackPayload {
  reviewId: string;
  sectionId: string;
  type: FeedbackType;
  category: string;
  description: string;
  suggestion?: string;
  quote?: string;
  linkedTo?: string;
  risk?: Risk;
}

export interface EditFeedbackPayload {
  reviewId: string;
  feedbackId: string;
  version: number;
  type?: FeedbackType;
  category?: string;
  description?: string;
  suggestion?: string;
  quote?: string;
  risk?: Risk;
}

export interface DeleteFeedbackPayload {
  reviewId: string;
  feedbackId: string;
  version: number;
}

export interface ChatSendPayload {
  reviewId: string;
  text: string;
  sectionId?: string;
}

export interface ChatCancelPayload {
  reviewId: string;
  messageId: string;
}

export interface PresencePayload {
  reviewId: string;
  sectionId?: string | null;
  typing?: boolean;
}

export interface ClientToServerEvents {
  'review:join': (payload: JoinPayload, ack: Ack<JoinResult>) => void;
  'review:leave': (payload: { reviewId: string }, ack: Ack) => void;
  'analysis:start': (
    payload: AnalysisStartPayload,
    ack: Ack<{ jobs: { sectionId: string; jobId: string }[] }>,
  ) => void;
  'analysis:cancel': (payload: AnalysisCancelPayload, ack: Ack) => void;
  'feedback:decide': (payload: DecidePayload, ack: Ack<{ item: FeedbackItem }>) => void;
  'feedback:add': (payload: AddFeedbackPayload, ack: Ack<{ item: FeedbackItem }>) => void;
  'feedback:edit': (payload: EditFeedbackPayload, ack: Ack<{ item: FeedbackItem }>) => void;
  'feedback:delete': (payload: DeleteFeedbackPayload, ack: Ack) => void;
  'chat:send': (payload: ChatSendPayload, ack: Ack<{ messageId: string; replyId: string }>) => void;
  'chat:cancel': (payload: ChatCancelPayload, ack: Ack) => void;
  'presence:update': (payload: PresencePayload, ack: Ack) => void;
}

export type ClientEventName = keyof ClientToServerEvents;
export type PayloadOf<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[0];
export type ResponseOf<E extends ClientEventName> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0];

export interface ServerToClientEvents {
  'review:event': (event: ReviewEvent) => void;
  presence: (payload: { reviewId: string; members: PresenceMember[] }) => void;
}
