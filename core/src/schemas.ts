import { z } from 'zod';
import { CHECKLIST_LIMITS, VERDICTS } from './checklist.ts';

/** Field caps of CONTRACT section 4; exceeding one is `too_long`, not `invalid`. */
export const LIMITS = {
  description: 4000,
  suggestion: 4000,
  example: 4000,
  chatText: 4000,
  quote: 1000,
  category: 80,
  title: 200,
  name: 80,
  question: 1000,
  replacement: 4000,
  replyText: 4000,
  searchQuery: 200,
} as const;

export const id = z.string().min(1).max(100);
const isoTime = z.string();

export const ROLES = ['owner', 'reviewer', 'viewer'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

export const User = z.object({ id, name: z.string().min(1).max(LIMITS.name) });
export type User = z.infer<typeof User>;

/** The actor of events Prism itself produces (analysis, status changes). */
export const PRISM_ACTOR: User = { id: 'prism', name: 'Prism' };

export const FEEDBACK_TYPES = ['critical', 'important', 'suggestion', 'positive'] as const;
export const FeedbackType = z.enum(FEEDBACK_TYPES);
export type FeedbackType = z.infer<typeof FeedbackType>;
export const RISKS = ['high', 'medium', 'low'] as const;
export const Risk = z.enum(RISKS);
export type Risk = z.infer<typeof Risk>;
export const FEEDBACK_STATUSES = ['pending', 'accepted', 'rejected'] as const;
export const FeedbackStatus = z.enum(FEEDBACK_STATUSES);
export type FeedbackStatus = z.infer<typeof FeedbackStatus>;
export const FeedbackSource = z.enum(['ai', 'rules', 'user']);
export type FeedbackSource = z.infer<typeof FeedbackSource>;

/** One reply in an item's thread (CONTRACT 7.5); `mentions` are the ids of members named as `@Name`. */
export const Reply = z.object({
  id,
  author: User,
  text: z.string().min(1).max(LIMITS.replyText),
  createdAt: isoTime,
  mentions: z.array(id),
});
export type Reply = z.infer<typeof Reply>;

export const FeedbackItem = z.object({
  id,
  sectionId: id,
  type: FeedbackType,
  category: z.string().min(1).max(LIMITS.category),
  description: z.string().min(1).max(LIMITS.description),
  suggestion: z.string().max(LIMITS.suggestion).optional(),
  example: z.string().max(LIMITS.example).optional(),
  questions: z.array(z.string().max(LIMITS.question)).max(20),
  refs: z.array(z.number().int().min(0).max(1000)).max(50),
  risk: Risk,
  confidence: z.number().min(0).max(1),
  quote: z.string().max(LIMITS.quote).optional(),
  /** Text that replaces `quote` when the item is applied (CONTRACT 7.5). */
  replacement: z.string().max(LIMITS.replacement).optional(),
  linkedTo: id.optional(),
  source: FeedbackSource,
  model: z.string().optional(),
  status: FeedbackStatus,
  decidedBy: User.optional(),
  decidedAt: isoTime.optional(),
  createdBy: User,
  createdAt: isoTime,
  version: z.number().int().min(1),
  /** The thread, oldest first; items stored before threads read as `[]` (see `withThread`). */
  replies: z.array(Reply).optional(),
  /** Whether the thread is resolved (closed); absent reads as false. */
  resolved: z.boolean().optional(),
  /** Its quote is gone from its section in a later revision (CONTRACT 7.5); absent reads as false. */
  outdated: z.boolean().optional(),
  /** The document revision it was made on or last carried to, from 1 (see `withRevision`). */
  revision: z.number().int().min(1).optional(),
  /** Higher first: from the workspace's decisions when the item was made (core/src/learning.ts). */
  rank: z.number().min(0).max(1).optional(),
  /** Set when the team nearly always rejects items like it: why the room shows it collapsed. */
  collapsed: z.string().max(300).optional(),
});
export type FeedbackItem = z.infer<typeof FeedbackItem>;

export const ChatMessage = z.object({
  id,
  role: z.enum(['user', 'assistant']),
  author: User,
  text: z.string(),
  createdAt: isoTime,
  status: z.enum(['streaming', 'done', 'failed']),
  lastIndex: z.number().int().optional(),
  model: z.string().optional(),
  sectionId: id.optional(),
  replyTo: id.optional(),
  citations: z.array(id).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

export const SECTION_STATUSES = ['idle', 'queued', 'analyzing', 'done', 'failed', 'cancelled'] as const;
export const SectionStatus = z.enum(SECTION_STATUSES);
export type SectionStatus = z.infer<typeof SectionStatus>;

export const Usage = z.object({
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  cacheReadTokens: z.number().int().min(0).optional(),
  cacheWriteTokens: z.number().int().min(0).optional(),
});
export type Usage = z.infer<typeof Usage>;

// ---------------------------------------------------------------------------------------------
// Client -> server payloads (CONTRACT section 4). Unknown fields are dropped, not refused.

const reviewId = id;
const since = z.number().int().min(0);

export const JoinPayload = z.object({ reviewId, since: since.optional() });
export const LeavePayload = z.object({ reviewId });
export const AnalysisStartPayload = z.object({
  reviewId,
  sectionIds: z.array(id).max(1000).optional(),
  thinking: z.boolean().optional(),
});
export const AnalysisCancelPayload = z.object({ reviewId, sectionIds: z.array(id).max(1000).optional() });
export const DecidePayload = z.object({
  reviewId,
  feedbackId: id,
  status: FeedbackStatus,
  version: z.number().int().min(1),
});
export const AddFeedbackPayload = z.object({
  reviewId,
  sectionId: id,
  type: FeedbackType,
  category: z.string().trim().min(1).max(LIMITS.category),
  description: z.string().trim().min(1).max(LIMITS.description),
  suggestion: z.string().max(LIMITS.suggestion).optional(),
  quote: z.string().max(LIMITS.quote).optional(),
  replacement: z.string().max(LIMITS.replacement).optional(),
  linkedTo: id.optional(),
  risk: Risk.optional(),
});
export const EditFeedbackPayload = z.object({
  reviewId,
  feedbackId: id,
  version: z.number().int().min(1),
  type: FeedbackType.optional(),
  category: z.string().trim().min(1).max(LIMITS.category).optional(),
  description: z.string().trim().min(1).max(LIMITS.description).optional(),
  suggestion: z.string().max(LIMITS.suggestion).optional(),
  quote: z.string().max(LIMITS.quote).optional(),
  replacement: z.string().max(LIMITS.replacement).optional(),
  risk: Risk.optional(),
});
export const DeleteFeedbackPayload = z.object({ reviewId, feedbackId: id, version: z.number().int().min(1) });
export const ReplyPayload = z.object({
  reviewId,
  feedbackId: id,
  text: z.string().trim().min(1).max(LIMITS.replyText),
});
export const ResolvePayload = z.object({ reviewId, feedbackId: id, resolved: z.boolean() });
export const ChatSendPayload = z.object({
  reviewId,
  text: z.string().trim().min(1).max(LIMITS.chatText),
  sectionId: id.optional(),
  /** Let the model reason before answering (where it can); the reasoning is never shown as the answer. */
  thinking: z.boolean().optional(),
});
export const ChatCancelPayload = z.object({ reviewId, messageId: id });
/** `checklist:override` (CONTRACT 7.4): `n` must be a checkpoint of the review's rubric (checked by the service). */
export const ChecklistOverridePayload = z.object({
  reviewId,
  n: z.number().int().min(1).max(1000),
  verdict: z.enum(VERDICTS),
  comment: z.string().trim().min(1).max(CHECKLIST_LIMITS.comment),
});
export const PresencePayload = z.object({
  reviewId,
  sectionId: id.nullable().optional(),
  typing: z.boolean().optional(),
});

export type JoinPayload = z.infer<typeof JoinPayload>;
export type AnalysisStartPayload = z.infer<typeof AnalysisStartPayload>;
export type AnalysisCancelPayload = z.infer<typeof AnalysisCancelPayload>;
export type DecidePayload = z.infer<typeof DecidePayload>;
export type AddFeedbackPayload = z.infer<typeof AddFeedbackPayload>;
export type EditFeedbackPayload = z.infer<typeof EditFeedbackPayload>;
export type DeleteFeedbackPayload = z.infer<typeof DeleteFeedbackPayload>;
export type ReplyPayload = z.infer<typeof ReplyPayload>;
export type ResolvePayload = z.infer<typeof ResolvePayload>;
export type ChatSendPayload = z.infer<typeof ChatSendPayload>;
export type ChatCancelPayload = z.infer<typeof ChatCancelPayload>;
export type ChecklistOverridePayload = z.infer<typeof ChecklistOverridePayload>;
export type PresencePayload = z.infer<typeof PresencePayload>;

// HTTP bodies
export const SessionBody = z.object({ name: z.string().trim().min(1).max(LIMITS.name) });
export const InviteBody = z.object({ role: z.enum(['reviewer', 'viewer']) });
export const AcceptInviteBody = z.object({ token: z.string().min(1).max(2000) });
/** `POST /api/workspaces` (CONTRACT 7.2): a name of 1-80 characters once trimmed. */
export const WorkspaceBody = z.object({ name: z.string().trim().min(1).max(80) });
/** `POST /api/workspaces/:id/invites`. */
export const WorkspaceInviteBody = z.object({ role: z.enum(['admin', 'member']) });

/** Caps of a workspace rubric (CONTRACT 7.4): names 1-80, 1-50 checkpoints, titles 120, descriptions 1000. */
export const RUBRIC_LIMITS = { name: 80, checkpoints: 50, title: 120, description: 1000 } as const;
export const RubricCheckpointBody = z.object({
  title: z.string().trim().min(1).max(RUBRIC_LIMITS.title),
  description: z.string().trim().max(RUBRIC_LIMITS.description).default(''),
  required: z.boolean().default(true),
});
/** `POST /api/workspaces/:id/rubrics` and `PUT .../rubrics/:rubricId`: checkpoints are numbered in order, from 1. */
export const RubricBody = z.object({
  name: z.string().trim().min(1).max(RUBRIC_LIMITS.name),
  checkpoints: z.array(RubricCheckpointBody).min(1).max(RUBRIC_LIMITS.checkpoints),
});
export type RubricBody = z.infer<typeof RubricBody>;
/** `POST .../rubrics/:rubricId/duplicate` (an extension): an optional name for the copy. */
export const RubricDuplicateBody = z.object({
  name: z.string().trim().min(1).max(RUBRIC_LIMITS.name).optional(),
});

/**
 * Maps a zod failure to Prism's codes: a string or array over its cap is `too_long`
 * (the client can shorten it), anything else is `invalid`.
 */
export function describeIssues(error: z.ZodError): { code: 'invalid' | 'too_long'; message: string } {
  const tooLong = error.issues.find(
    (issue) => issue.code === 'too_big' && (issue.origin === 'string' || issue.origin === 'array'),
  );
  const issue = tooLong ?? error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  const message = issue ? `${where}${issue.message}` : 'Invalid payload';
  return { code: tooLong ? 'too_long' : 'invalid', message };
}

/** `GET /api/reviews` query (CONTRACT 7.3); other parameters are ignored. */
export const LibraryQuery = z.object({
  workspaceId: id.optional(),
  q: z.string().max(LIMITS.searchQuery).optional(),
  status: z.enum(['open', 'submitted', 'archived']).optional(),
});
export type LibraryQuery = z.infer<typeof LibraryQuery>;
