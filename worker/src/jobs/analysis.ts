/**
 * Analyses one section: marks it analyzing (replacing its pending AI items), streams findings
 * into the log as the provider completes them, and ends with `done` (and its usage) or `failed`
 * with the reason. Every append is fenced by this attempt's id, so a retried or duplicated job
 * can never interleave with an older attempt or record a finding twice.
 *
 * The request carries the section's decided items, and a finding that repeats a rejected one is
 * dropped (CONTRACT 7.4). A section longer than the provider's `partChars` is analysed in parts,
 * one provider call after another, under the one section status. When the last section of a
 * review is done, the whole-document pass is queued (jobs/consistency.ts).
 */
import { createHash } from 'node:crypto';
import {
  type FeedbackItem,
  FeedbackItem as FeedbackItemSchema,
  PRISM_ACTOR,
  PrismError,
  type Usage,
} from '@prism/core';
import { type Guard, type StoredItem, usageWrites, type Write } from '@prism/store';
import { UnrecoverableError, Worker } from 'bullmq';
import { Coalescer } from '../ai/coalescer.ts';
import { FindingFilter } from '../ai/findings.ts';
import { splitIntoParts } from '../ai/parts.ts';
import { type AnalysisResult, ProviderError } from '../ai/provider.ts';
import { withRank } from '../ai/rank.ts';
import { rubricRefs } from '../ai/rubric-refs.ts';
import { queueChecklistIfDone } from './checklist.ts';
import { queueDocumentPassIfDone } from './consistency.ts';
import { decidedItems, rejectedPoints } from './memory.ts';
import { assertBudget, documentContext, newAttempt, Superseded, timeAfter } from './shared.ts';
import type { Handler } from './types.ts';

const THROTTLE_WAIT_MS = 15_000;
/** How often one pending item may change under us before it is left as it is. */
const MAX_RACES = 5;

export const analyzeSection: Handler<'analysis.section'> = async (job, context, signal) => {
  const { log, store, provider, logger } = context;
  const { reviewId, sectionId, thinking } = job.data;
  const fence = `analysis:${sectionId}`;
  const attempt = newAttempt(job.id, job.attemptsMade);
  const guard: Guard = { kind: 'hget', key: 'jobs', field: fence, expected: attempt };
  const now = (): string => new Date().toISOString();
  /** The last finding's creation time: each next one is later, so they list in the order found. */
  let foundAt: string | undefined;

  const status = async (
    data: Omit<Extract<Parameters<typeof log.append>[0], { type: 'section.status' }>['data'], 'sectionId'>,
    extraWrites: Write[] = [],
  ): Promise<void> => {
    const record = JSON.stringify({ ...data });
    const result = await log.append(
      { reviewId, type: 'section.status', at: now(), actor: PRISM_ACTOR, data: { sectionId, ...data } },
      {
        guards: [guard],
        writes: [{ op: 'hset', key: 'status', field: sectionId, value: record }, ...extraWrites],
      },
    );
    if (!result.ok) throw new Superseded();
  };

  try {
    await assertBudget(store, reviewId, context.tokenBudget);
    const document = await documentContext(store, reviewId);
    const section = document.sections.find((s) => s.id === sectionId);
    if (!section) throw new PrismError('not_found', 'The section no longer exists.');

    // Take the fence, then replace the section's pending AI items (decided ones stay). Each delete
    // is guarded by the exact item read; one that changed since (guard 2 failed) is read again and
    // deleted only if it is still pending.
    await store.setJobField(reviewId, fence, attempt);
    await status({ status: 'analyzing' });
    const replaced = (await store.feedbackItems(reviewId)).filter(
      ({ item }) => item.sectionId === sectionId && item.source !== 'user',
    );
    for (const stored of replaced) {
      let current: StoredItem | undefined = stored;
      for (let race = 0; current?.item.status === 'pending' && race < MAX_RACES; race += 1) {
        const deleted = await log.append(
          { reviewId, type: 'feedback.deleted', at: now(), actor: PRISM_ACTOR, data: { item: current.item } },
          {
            guards: [guard, { kind: 'hget', key: 'feedback', field: current.item.id, expected: current.raw }],
            writes: [{ op: 'hdel', key: 'feedback', field: current.item.id }],
          },
        );
        if (deleted.ok || deleted.guard !== 2) break;
        current = await store.item(reviewId, current.item.id);
      }
    }

    // What the team decided stays decided: the model is told, and repeats of rejections are dropped.
    const items = (await store.feedbackItems(reviewId)).map(({ item }) => item);
    const decided = decidedItems(items, sectionId).map(({ sectionId: _, ...item }) => item);
    const filter = new FindingFilter(section.text, {
      minConfidence: context.minConfidence,
      maxFindings: context.maxFindings,
      rejected: rejectedPoints(items, sectionId),
    });
    const parts = provider.partChars ? splitIntoParts(section.text, provider.partChars) : undefined;
    let model = '';
    let reasoningIndex = 0;
    let found = 0;
    const reasoning = new Coalescer(async (text) => {
      const result = await log.append(
        {
          reviewId,
          type: 'analysis.delta',
          at: now(),
          actor: PRISM_ACTOR,
          data: { sectionId, index: reasoningIndex, text },
        },
        { guards: [guard] },
      );
      if (!result.ok) throw new Superseded();
      reasoningIndex += 1;
    });

    const sink = {
      started: async (answering: string) => {
        model = answering;
      },
      reasoning: (text: string) => reasoning.push(text),
      finding: async (finding: Parameters<FindingFilter['accept']>[0]) => {
        const shown = filter.accept(finding);
        if (!shown) return;
        const source = provider.name === 'rules' ? 'rules' : 'ai';
        const item: FeedbackItem = withRank(
          {
            // Derived from the attempt: the same attempt cannot add the same finding twice.
            id: `f_${createHash('sha256').update(`${attempt}:${found}`).digest('base64url').slice(0, 16)}`,
            sectionId,
            ...shown,
            refs: rubricRefs(shown.refs, document.rubric, source),
            source,
            model: model || provider.name,
            status: 'pending',
            createdBy: PRISM_ACTOR,
            createdAt: timeAfter(foundAt),
            version: 1,
          },
          document.preferences,
          document.rubric,
        );
        const valid = FeedbackItemSchema.safeParse(item);
        if (!valid.success) {
          logger.debug({ reviewId, sectionId, issues: valid.error.issues }, 'finding dropped: invalid');
          return;
        }
        found += 1;
        foundAt = item.createdAt;
        const appended = await log.append(
          {
            reviewId,
            type: 'feedback.added',
            at: item.createdAt,
            actor: PRISM_ACTOR,
            data: { item: valid.data },
          },
          {
            guards: [guard, { kind: 'hget', key: 'feedback', field: item.id, expected: '' }],
            writes: [{ op: 'hset', key: 'feedback', field: item.id, value: JSON.stringify(valid.data) }],
          },
        );
        if (!appended.ok) throw new Superseded();
      },
    };

    // One call per part, in order; each part gets its share of the cap (the filter holds the total).
    const calls: AnalysisResult[] = [];
    try {
      for (const part of parts ?? [undefined]) {
        const share = part ? Math.ceil(context.maxFindings / part.count) : context.maxFindings;
        const call = await provider.analyze(
          {
            document,
            sectionId,
            thinking,
            maxFindings: share,
            decided,
            ...(part ? { part } : {}),
          },
          sink,
          signal ?? new AbortController().signal,
        );
        calls.push(call);
        if (call.stopReason === 'other') break;
      }
    } finally {
      await reasoning.close().catch(() => reasoning.discard());
    }
    const last = calls.at(-1)!;
    const result: AnalysisResult = {
      model: last.model,
      usage: addUsage(calls.map((call) => call.usage)),
      stopReason: calls.some((call) => call.stopReason === 'other')
        ? 'other'
        : calls.some((call) => call.stopReason === 'max_tokens')
          ? 'max_tokens'
          : last.stopReason,
    };
    if (calls.length === 1) result.usage = last.usage;
    const writes = calls.flatMap((call) => usageWrites(call.model, call.usage));
    if (Object.values(filter.dropped).some((n) => n > 0)) {
      logger.debug(
        { reviewId, sectionId, dropped: filter.dropped, parts: parts?.length ?? 1 },
        'findings held back',
      );
    }

    if (result.stopReason === 'max_tokens') {
      await status(
        {
          status: 'done',
          model: result.model,
          usage: result.usage,
          error: {
            code: 'truncated',
            message: `The model's answer was cut short at its output limit; the ${found} findings shown are complete. Analyze the section again for more.`,
          },
        },
        writes,
      );
    } else if (result.stopReason === 'other') {
      await status(
        {
          status: 'failed',
          model: result.model,
          usage: result.usage,
          error: {
            code: 'content_filtered',
            message: 'The model stopped: its guardrails or content filters intervened.',
          },
        },
        writes,
      );
      throw new UnrecoverableError('content filtered');
    } else {
      const note = calls.find((call) => call.note)?.note;
      await status(
        { status: 'done', model: result.model, usage: result.usage, ...(note ? { note } : {}) },
        writes,
      );
    }
    await queueDocumentPassIfDone(context, reviewId);
    await queueChecklistIfDone(context, reviewId);
    return { findings: found, model: result.model, parts: parts?.length ?? 1 };
  } catch (error) {
    if (error instanceof Superseded) return { superseded: true };
    if (signal?.aborted) {
      await status({ status: 'cancelled' }).catch(() => {});
      return { cancelled: true };
    }
    if (error instanceof ProviderError && error.retryable) {
      // Every model throttled or none answered: wait, then this job runs again.
      await status({ status: 'queued', error: { code: error.code, message: error.message } }).catch(() => {});
      await context.rateLimit(THROTTLE_WAIT_MS);
      throw Worker.RateLimitError();
    }
    if (error instanceof UnrecoverableError) throw error;
    const body =
      error instanceof ProviderError || error instanceof PrismError
        ? { code: error.code, message: error.message }
        : { code: 'internal', message: 'The analysis failed unexpectedly; try again.' };
    await status({ status: 'failed', error: body }).catch(() => {});
    throw new UnrecoverableError(body.message);
  }
};

/** The usage of several calls, added up. */
function addUsage(usages: Usage[]): Usage {
  const total: Usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  for (const usage of usages) {
    total.inputTokens += usage.inputTokens;
    total.outputTokens += usage.outputTokens;
    total.cacheReadTokens! += usage.cacheReadTokens ?? 0;
    total.cacheWriteTokens! += usage.cacheWriteTokens ?? 0;
  }
  return total;
}
