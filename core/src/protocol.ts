/**
 * The one protocol module every side imports: Socket.IO event maps with typed acks, the review
 * event log's event types, and the shapes of CONTRACT section 5.
 */
import type { ChecklistEntry, Rubric } from './checklist.ts';
import type { ErrorBody } from './errors.ts';
import type { RevisionInfo } from './revisions.ts';
import type {
  AddFeedbackPayload,
  AnalysisCancelPayload,
  AnalysisStartPayload,
  ChatCancelPayload,
  ChatMessage,
  ChatSendPayload,
  ChecklistOverridePayload,
  DecidePayload,
  DeleteFeedbackPayload,
  EditFeedbackPayload,
  FeedbackItem,
  JoinPayload,
  PresencePayload,
  Reply,
  ReplyPayload,
  ResolvePayload,
  Role,
  SectionStatus,
  Usage,
  User,
} from './schemas.ts';

/** Why an analysis or a reply failed: a stable code (model_throttled, truncated, ...) and a message for people. */
export interface Failure {
  code: string;
  message: string;
}

export interface SectionRef {
  id: string;
  title: string;
  level: number;
  index: number;
}

export interface Section extends SectionRef {
  html: string;
  text: string;
}

export interface SectionState extends SectionRef {
  html: string;
  text: string;
  status: SectionStatus;
  model?: string;
  error?: Failure;
  usage?: Usage;
  /** What the analysis could not cover, in plain words (e.g. prose checks for another language). */
  note?: string;
}

/** Where a review is in its life: `open` to work on, `submitted` (complete, read-only until reopened), `archived`. */
export type ReviewStatus = 'open' | 'submitted' | 'archived';

/** What a submit or reopen counts: items by decision (all sources), and among them the people's own (`custom`). */
export interface SubmitSummary {
  accepted: number;
  rejected: number;
  pending: number;
  custom: number;
}

export interface ReviewSummary {
  id: string;
  title: string;
  createdAt: string;
  owner: User;
  role: Role;
  sections: SectionRef[];
  status: ReviewStatus;
  /** Items decided (accepted or rejected) of all items. */
  progress: { decided: number; total: number };
  /** The time of the review's last event (its last activity). */
  updatedAt: string;
  /** Who submitted the review and when, while it is `submitted`. */
  submitted?: { by: User; at: string };
  /** The workspace the review belongs to (CONTRACT 7.3); absent for a person's own review. */
  workspaceId?: string;
  /** People in the review's room right now (the library lists them; snapshots carry `members`). */
  here?: User[];
}

export interface Member {
  user: User;
  role: Role;
  online: boolean;
}

export interface ReviewStats {
  total: number;
  byType: Record<string, number>;
  byRisk: Record<string, number>;
  byStatus: Record<string, number>;
  bySource: Record<string, number>;
  bySection: Record<string, number>;
  /** Tokens spent by the review's model calls, and calls per model id. */
  usage: {
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
    models: Record<string, number>;
    /**
     * What those tokens cost in USD (BEDROCK_PRICES, CONTRACT 7.4), rounded to 4 decimals; the
     * rules provider costs 0.
     */
    usd?: number;
    /** Model ids with tokens that no price covers (counted as $0 in `usd`); absent when none. */
    unpriced?: string[];
  };
}

/** The AI provider the worker fleet announced (a key refreshed with a TTL); absent when none did. */
export interface AiInfo {
  provider: 'bedrock' | 'rules';
  /** Model ids, in the order the worker tries them (Bedrock only). */
  models?: string[];
}

export interface ReviewSnapshot extends Omit<ReviewSummary, 'sections'> {
  seq: number;
  sections: SectionState[];
  feedback: FeedbackItem[];
  chat: ChatMessage[];
  members: Member[];
  stats: ReviewStats;
  /** What analyses with: `bedrock` (a model) or `rules` (deterministic checks); absent while no worker said. */
  ai?: AiInfo;
  /** The document's latest revision, from 1 (CONTRACT 7.5); servers always send it. */
  revision?: number;
  /** Every revision, oldest first (revision 1 is the upload); servers always send it. */
  revisions?: RevisionInfo[];
  /** The review's rubric (CONTRACT 7.4): the checkpoints `refs` and the checklist name. */
  rubric: Rubric;
  /** The checklist's verdicts, one entry per judged checkpoint, in checkpoint order. */
  checklist: ChecklistEntry[];
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
    /** What the analysis could not cover, in plain words; set with `done`. */
    note?: string;
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
  /** A submit or reopen; the actor is who did it. */
  'review.status': { status: ReviewStatus; summary: SubmitSummary };
  /**
   * A revised document (CONTRACT 7.5). Beyond the contract's fields it carries what a client needs
   * to apply it: the revision's record, every section as it now stands (changed and new ones
   * `idle`), the carried and outdated items, and the ids of the items removed.
   */
  'revision.added': {
    number: number;
    changedSections: string[];
    carried: number;
    outdated: number;
    revision: RevisionInfo;
    sections: SectionState[];
    items: FeedbackItem[];
    removedItems: string[];
  };
  /** The owner deleted the review: the last event of its log; sockets leave the room. */
  'review.deleted': { title: string };
  /** A checkpoint's verdict (CONTRACT 7.4), from the model, the rules or a person's override. */
  'checklist.updated': ChecklistEntry;
}

export type ReviewEventType = keyof ReviewEventData;

/** One entry of a review's log, as every client receives it. */
export type ReviewEvent<T extends ReviewEventType = ReviewEventType> = {
  [K in T]: { reviewId: string; seq: number; type: K; at: string; actor: User; data: ReviewEventData[K] };
}[T];

/** An event before the log has given it its `seq`. */
export type NewReviewEvent<T extends ReviewEventType = ReviewEventType> = {
  [K in T]: Omit<ReviewEvent<K>, 'seq'>;
}[T];

// ---------------------------------------------------------------------------------------------
// Socket.IO

export type AckOk<T> = { ok: true } & T;
export type AckError = { ok: false; error: ErrorBody; item?: FeedbackItem };
export type Ack<T = Record<string, never>> = (response: AckOk<T> | AckError) => void;

export type JoinResult =
  | { snapshot: ReviewSnapshot }
  | { events: ReviewEvent[] }
  | { reset: true; snapshot: ReviewSnapshot };

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
  /** A reply in the item's thread (CONTRACT 7.5); emits `feedback.updated`. */
  'feedback:reply': (payload: ReplyPayload, ack: Ack<{ reply: Reply }>) => void;
  /** Resolves or reopens the item's thread; emits `feedback.updated`. */
  'feedback:resolve': (payload: ResolvePayload, ack: Ack<{ item: FeedbackItem }>) => void;
  'chat:send': (payload: ChatSendPayload, ack: Ack<{ messageId: string; replyId: string }>) => void;
  'chat:cancel': (payload: ChatCancelPayload, ack: Ack) => void;
  'presence:update': (payload: PresencePayload, ack: Ack) => void;
  /** A person's verdict on a checkpoint, with a comment (CONTRACT 7.4); emits `checklist.updated`. */
  'checklist:override': (payload: ChecklistOverridePayload, ack: Ack<{ entry: ChecklistEntry }>) => void;
}

export type ClientEventName = keyof ClientToServerEvents;
export const CLIENT_EVENTS = [
  'review:join',
  'review:leave',
  'analysis:start',
  'analysis:cancel',
  'feedback:decide',
  'feedback:add',
  'feedback:edit',
  'feedback:delete',
  'feedback:reply',
  'feedback:resolve',
  'chat:send',
  'chat:cancel',
  'presence:update',
  'checklist:override',
] as const satisfies readonly ClientEventName[];

export interface PresenceMember {
  user: User;
  role: Role;
  sectionId: string | null;
  typing: boolean;
  online: boolean;
}

export interface ServerToClientEvents {
  'review:event': (event: ReviewEvent) => void;
  presence: (payload: { reviewId: string; members: PresenceMember[] }) => void;
  /**
   * Sent just before the server closes this socket for good, with why: `too_many_connections` when
   * the person opened more than MAX_SOCKETS_PER_USER and this was their oldest. Do not reconnect.
   */
  'session:closed': (payload: { code: 'too_many_connections'; message: string }) => void;
}

/** Room of a review's sockets on each server. */
export const reviewRoom = (reviewId: string): string => `review:${reviewId}`;
