/**
 * The whole-document pass: once every section of a review is analysed, one job asks the model
 * for contradictions and inconsistencies across sections (numbers, dates, names, claims).
 *
 * A finding belongs to one section and quotes it; its description names the other section by
 * title. When the model also quotes the other place verbatim, a second finding is added there,
 * and the two point at each other through `linkedTo`, so each place carries its highlight and a
 * reader of either card can go to the other. Both are appended in one step.
 *
 * Exactly once per round (rounds.ts): every finishing section job checks whether all sections are
 * done, and the first to claim the round queues the pass. Appends are fenced by the attempt, like
 * the other jobs. Providers without `crossCheck` (the rules provider) skip it.
 */
import { createHash } from 'node:crypto';
import { type FeedbackItem, FeedbackItem as FeedbackItemSchema, PRISM_ACTOR, PrismError } from '@prism/core';
import type { Guard, PendingAppend } from '@prism/store';
import { UnrecoverableError, Worker } from 'bullmq';
import { FindingFilter } from '../ai/findings.ts';
import { type CrossFinding, type DocumentSection, type Finding, ProviderError } from '../ai/provider.ts';
import { withRank } from '../ai/rank.ts';
import { rubricRefs } from '../ai/rubric-refs.ts';
import { decidedItems, rejectedPoints } from './memory.ts';
import { claimRound, finishedRound } from './rounds.ts';
import { assertBudget, documentContext, newAttempt, Superseded } from './shared.ts';
import type { Handler, JobContext } from './types.ts';

const THROTTLE_WAIT_MS = 15_000;

/** The `jobs` field a round is claimed under. */
const roundField = (round: string): string => `document:round:${round}`;

/**
 * Queues the whole-document pass when every section of the review is done, once per round.
 * Never fails the section job that calls it: a lost pass is logged, not the section's problem.
 */
export async function queueDocumentPassIfDone(context: JobContext, reviewId: string): Promise<void> {
  if (!context.provider.crossCheck) return;
  try {
    const round = await finishedRound(context, reviewId, 2);
    if (!round || !(await claimRound(context, reviewId, roundField(round)))) return;
    await context.enqueue('analysis.document', { reviewId, round }, `d.${reviewId}.${round}`);
  } catch (error) {
    context.logger.warn({ err: error, reviewId }, 'could not queue the whole-document pass');
  }
}

export const checkConsistency: Handler<'analysis.document'> = async (job, context, signal) => {
  const { log, store, provider, logger } = context;
  const { reviewId } = job.data;
  if (!provider.crossCheck) return { skipped: 'no model' };
  const attempt = newAttempt(job.id, job.attemptsMade);
  const guard: Guard = { kind: 'hget', key: 'jobs', field: 'document', expected: attempt };
  const now = (): string => new Date().toISOString();

  try {
    await assertBudget(store, reviewId, context.tokenBudget);
    await store.setJobField(reviewId, 'document', attempt);
    const document = await documentContext(store, reviewId);
    const sections = new Map(document.sections.map((s) => [s.id, s]));
    const items = (await store.feedbackItems(reviewId)).map(({ item }) => item);
    // One filter per section: its own text, its rejections, what it already shows.
    const filters = new Map<string, FindingFilter>();
    const filterFor = (section: DocumentSection): FindingFilter => {
      let filter = filters.get(section.id);
      if (!filter) {
        filter = new FindingFilter(section.text, {
          minConfidence: context.minConfidence,
          rejected: rejectedPoints(items, section.id),
          existing: items
            .filter((item) => item.sectionId === section.id)
            .map((item) => ({ description: item.description, quote: item.quote })),
        });
        filters.set(section.id, filter);
      }
      return filter;
    };

    let model = '';
    let found = 0;
    let shownFindings = 0;
    const newId = (): string =>
      `f_${createHash('sha256').update(`${attempt}:${found++}`).digest('base64url').slice(0, 16)}`;
    const added = async (finding: CrossFinding): Promise<void> => {
      if (shownFindings >= context.maxFindings) return;
      const home = sections.get(finding.sectionId);
      if (!home) return;
      const shown = filterFor(home).accept(finding);
      // A cross-section finding without its words in the document cannot be shown where it is.
      if (!shown?.quote) return;
      const otherSection = finding.other ? sections.get(finding.other.sectionId) : undefined;
      const otherShown =
        otherSection && finding.other?.quote
          ? filterFor(otherSection).accept({
              ...finding,
              quote: finding.other.quote,
              description: `Disagrees with "${home.title}": ${finding.description}`,
            })
          : undefined;
      const first = itemFrom(
        home.id,
        mentioning({ ...shown, refs: rubricRefs(shown.refs, document.rubric, 'ai') }, otherSection),
        newId(),
        model || provider.name,
        now(),
      );
      const entries = [first];
      if (otherSection && otherShown?.quote) {
        const { replacement: _, ...rest } = otherShown;
        const second = itemFrom(
          otherSection.id,
          { ...rest, refs: rubricRefs(rest.refs, document.rubric, 'ai') },
          newId(),
          first.model!,
          first.createdAt,
        );
        first.linkedTo = second.id;
        second.linkedTo = first.id;
        entries.push(second);
      }
      const valid = entries.map((item) =>
        FeedbackItemSchema.safeParse(withRank(item, document.preferences, document.rubric)),
      );
      if (valid.some((v) => !v.success)) {
        logger.debug({ reviewId }, 'cross-section finding dropped: invalid');
        return;
      }
      const appends: PendingAppend[] = valid.map((v) => {
        const item = v.data!;
        return {
          event: { reviewId, type: 'feedback.added', at: item.createdAt, actor: PRISM_ACTOR, data: { item } },
          options: {
            guards: [guard, { kind: 'hget', key: 'feedback', field: item.id, expected: '' }],
            writes: [{ op: 'hset', key: 'feedback', field: item.id, value: JSON.stringify(item) }],
          },
        };
      });
      const results = await log.appendMany(appends);
      if (results.some((r) => !r.ok)) throw new Superseded();
      shownFindings += 1;
    };

    const result = await provider.crossCheck(
      {
        document,
        maxFindings: context.maxFindings,
        decided: decidedItems(items).filter(
          (item) => item.status === 'rejected' || item.category === 'Consistency',
        ),
      },
      {
        started: async (answering) => {
          model = answering;
        },
        finding: added,
      },
      signal ?? new AbortController().signal,
    );
    await store.addUsage(reviewId, result.model, result.usage);
    return { findings: shownFindings, items: found, model: result.model };
  } catch (error) {
    if (error instanceof Superseded) return { superseded: true };
    if (signal?.aborted) return { cancelled: true };
    if (error instanceof ProviderError && error.retryable) {
      await context.rateLimit(THROTTLE_WAIT_MS);
      throw Worker.RateLimitError();
    }
    // Nothing in the room waits on this pass: the sections' own findings stand. Log once, here.
    const message =
      error instanceof ProviderError || error instanceof PrismError ? error.message : 'unexpected failure';
    logger.warn({ err: error, reviewId }, 'whole-document pass failed');
    throw new UnrecoverableError(message);
  }
};

/** The description names the other section, so the card says where the disagreement is. */
function mentioning(finding: Finding, other: DocumentSection | undefined): Finding {
  if (!other || finding.description.includes(other.title)) return finding;
  return { ...finding, description: `${finding.description} (See "${other.title}".)` };
}

function itemFrom(sectionId: string, finding: Finding, id: string, model: string, at: string): FeedbackItem {
  const { sectionId: _, other: __, ...fields } = finding as Finding & Partial<CrossFinding>;
  return {
    ...fields,
    id,
    sectionId,
    source: 'ai',
    model,
    status: 'pending',
    createdBy: PRISM_ACTOR,
    createdAt: at,
    version: 1,
  };
}
