// Shapes and events of CONTRACT.md sections 4-5, as the browser sees them (JSON over HTTP and Socket.IO).
// The types are core's (core/src/schemas.ts and core/src/protocol.ts), imported type-only: the imports are
// erased at build time, so neither core nor zod reaches the bundle. Values come from core only out of its
// zod-free modules (rubric.ts, mentions.ts, lifecycle.ts, imported where they are used); schemas.ts builds zod
// schemas as it loads, so the few of its constants the UI needs at runtime are copied below, each typed so
// that it fails to compile when it drifts from core's.

import type { ErrorBody as ServerError } from '../../../core/src/errors.ts';
import type { AckError, AckOk, ClientToServerEvents } from '../../../core/src/protocol.ts';
import type {
  FEEDBACK_STATUSES as CORE_FEEDBACK_STATUSES,
  FEEDBACK_TYPES as CORE_FEEDBACK_TYPES,
  LIMITS as CORE_LIMITS,
  RISKS as CORE_RISKS,
  SECTION_STATUSES as CORE_SECTION_STATUSES,
  FeedbackSource,
} from '../../../core/src/schemas.ts';

// The web's older names for two of core's: `Section` is core's `SectionState` (a snapshot's section, with its
// analysis status; core's own `Section` is the parsed section without one) and `SectionSummary` is `SectionRef`.
export type {
  Ack,
  AckError,
  AckOk,
  AiInfo,
  ClientEventName,
  ClientToServerEvents,
  Failure,
  JoinResult,
  Member,
  PresenceMember,
  ReviewEvent,
  ReviewEventData,
  ReviewEventType,
  ReviewSnapshot,
  ReviewStats,
  ReviewStatus,
  ReviewSummary,
  SectionRef,
  SectionRef as SectionSummary,
  SectionState,
  SectionState as Section,
  ServerToClientEvents,
  SubmitSummary,
} from '../../../core/src/protocol.ts';
export type {
  AddFeedbackPayload,
  AnalysisCancelPayload,
  AnalysisStartPayload,
  ChatCancelPayload,
  ChatMessage,
  ChatSendPayload,
  DecidePayload,
  DeleteFeedbackPayload,
  EditFeedbackPayload,
  FeedbackItem,
  FeedbackSource,
  FeedbackStatus,
  FeedbackType,
  JoinPayload,
  PresencePayload,
  Risk,
  Role,
  SectionStatus,
  Usage,
  User,
} from '../../../core/src/schemas.ts';

// ---------------------------------------------------------------------------------------------
// Runtime constants (copies of core's; the annotations make any difference a type error)

export const SECTION_STATUSES: typeof CORE_SECTION_STATUSES = [
  'idle',
  'queued',
  'analyzing',
  'done',
  'failed',
  'cancelled',
];
export const FEEDBACK_TYPES: typeof CORE_FEEDBACK_TYPES = ['critical', 'important', 'suggestion', 'positive'];
export const RISKS: typeof CORE_RISKS = ['high', 'medium', 'low'];
export const FEEDBACK_STATUSES: typeof CORE_FEEDBACK_STATUSES = ['pending', 'accepted', 'rejected'];
/** Core has no list of sources, only the `FeedbackSource` enum; `_EverySource` checks this names each one. */
export const FEEDBACK_SOURCES = ['ai', 'rules', 'user'] as const satisfies readonly FeedbackSource[];
type _EverySource = Assert<
  [Exclude<FeedbackSource, (typeof FEEDBACK_SOURCES)[number]>] extends [never] ? true : false
>;

/** Field caps the forms enforce (the ones of core's LIMITS they use): longer values get the ack error `too_long`. */
export const LIMITS: Pick<
  typeof CORE_LIMITS,
  'description' | 'suggestion' | 'chatText' | 'replyText' | 'quote' | 'category' | 'title' | 'name'
> = {
  description: 4000,
  suggestion: 4000,
  chatText: 4000,
  replyText: 4000,
  quote: 1000,
  category: 80,
  title: 200,
  name: 80,
};

/** Compiles only when `Check` is `true`. */
type Assert<Check extends true> = Check;

// ---------------------------------------------------------------------------------------------
// Web-only types

/** The body of an HTTP error response: core's `ErrorBody` wrapped in `error`. */
export interface ErrorBody {
  error: ServerError;
}

/**
 * What the browser's socket layer (src/lib/realtime/socket.ts) answers by itself when an ack cannot
 * come: the socket is down (`offline`) or the server did not answer in time (`timeout`). These codes are
 * not among core's error codes.
 */
export interface TransportError {
  ok: false;
  error: { code: 'offline' | 'timeout'; message: string };
  item?: undefined;
}

export type AckResponse<T = Record<string, never>> = AckOk<T> | AckError;
export type PayloadOf<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];
/** The ack of a client event as `request()` resolves it: the server's answer, or a transport failure. */
export type ResponseOf<E extends keyof ClientToServerEvents> =
  | Parameters<Parameters<ClientToServerEvents[E]>[1]>[0]
  | TransportError;
