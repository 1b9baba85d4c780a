/**
 * Queue names, job payloads and default job options, declared once for producers (servers) and
 * consumers (workers). A worker's handler table is a `Record<JobName, Handler>`, so a job declared
 * here without a handler is a compile error.
 */
export const QUEUES = {
  analysis: 'analysis',
  chat: 'chat',
  export: 'export',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface JobPayloads {
  'analysis.section': {
    reviewId: string;
    sectionId: string;
    thinking: boolean;
    requestedBy: { id: string; name: string };
  };
  /**
   * The whole-document pass, once every section is analysed: contradictions across sections.
   * `round` names the set of section runs it follows (one pass per round).
   */
  'analysis.document': { reviewId: string; round: string };
  /** The checklist (CONTRACT 7.4), once every section is analysed: a verdict per checkpoint, once per round. */
  'analysis.checklist': { reviewId: string; round: string };
  'chat.reply': {
    reviewId: string;
    questionId: string;
    replyId: string;
    sectionId?: string;
    /** The asker wants the model to reason first (chat:send `thinking`). */
    thinking?: boolean;
  };
  'export.package': { reviewId: string; requestedBy: { id: string; name: string } };
  /** POST /api/diagnostics `ai`: one minimal call through the worker's chain; returns a `DiagnosticsAiResult`. */
  'diagnostics.ai': { requestedBy: string };
}

/** What a `diagnostics.ai` job returns: whether a model answered, which, how fast. */
export interface DiagnosticsAiResult {
  ok: boolean;
  provider: 'bedrock' | 'rules';
  /** The model that answered (Bedrock). */
  model?: string;
  /** Time of the model call alone, in ms. */
  ms: number;
  /** Plain language, nothing secret. */
  detail: string;
}

export type JobName = keyof JobPayloads;

export const JOB_QUEUE: Record<JobName, QueueName> = {
  'analysis.section': QUEUES.analysis,
  'analysis.document': QUEUES.analysis,
  'analysis.checklist': QUEUES.analysis,
  'chat.reply': QUEUES.chat,
  'export.package': QUEUES.export,
  // Interactive like a chat reply, and small: it waits behind no analysis.
  'diagnostics.ai': QUEUES.chat,
};

/** Defaults for every job: a few retries with backoff, bounded history in Redis. */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 24 * 3600, count: 5000 },
} as const;

/** Published on the control channel; every worker acts on the jobs it runs. */
export type ControlMessage = { kind: 'cancel'; jobIds: string[]; reason: string };
