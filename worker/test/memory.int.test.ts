/**
 * What the model is told and what the team sees come back, through real parts: servers and
 * BullMQ workers on a real Redis, the real Bedrock SDK talking to the local stand-in, which
 * scripts the model's answers and records every request. A reviewer notices: a finding the team
 * rejected does not come back; the prompt defines its terms and keeps to the cap; chat knows what
 * was decided, by whom and why; contradictions between sections are found once, at both places;
 * a long section is reviewed in parts with its words quoted exactly.
 */
import type { FeedbackItem, ReviewEvent } from '@prism/core';
import { EventLog, ReviewStore } from '@prism/store';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConverseBody,
  lastUserTextOf,
  type StandIn,
  startBedrockStandIn,
  systemTextOf,
} from '../../test/bedrock/stand-in.ts';
import {
  call,
  connect,
  onCleanup,
  REDIS_URL,
  ReviewFeed,
  serverWithReview,
  startWorker,
  waitFor,
} from '../../test/helpers.ts';
import { createProvider } from '../src/ai/index.ts';
import type { AiProvider } from '../src/ai/provider.ts';
import { loadConfig } from '../src/config.ts';
import { queueDocumentPassIfDone } from '../src/jobs/consistency.ts';
import type { JobContext } from '../src/jobs/types.ts';
import { standInProvider } from './stand-in-provider.ts';

const MODEL = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startBedrockStandIn({ tokensPerSecond: 2000, firstTokenMs: 5 });
});
afterAll(async () => {
  await standIn.close();
});

const provider = () => standInProvider(standIn, { models: [MODEL] });

const REPORT = [
  {
    title: 'Summary',
    paragraphs: [
      'The outage lasted four hours on 3 March.',
      'About 12,000 customers could not complete checkout.',
    ],
  },
  {
    title: 'Timeline',
    paragraphs: [
      'At 09:00 the configuration change was deployed.',
      'Service was restored at 11:00, two hours after the change.',
    ],
  },
  {
    title: 'Actions',
    paragraphs: ['We will improve monitoring soon.', 'The team will review the change process.'],
  },
];

type Sections = { title: string; paragraphs: string[] }[];

async function room(
  name: string,
  options: {
    env?: Record<string, string>;
    workers?: number;
    doc?: Sections;
    provider?: () => AiProvider;
  } = {},
) {
  const { prefix, server, owner, review } = await serverWithReview(name, options.doc ?? REPORT, {
    env: options.env,
  });
  for (let i = 0; i < (options.workers ?? 1); i += 1) {
    await startWorker(prefix, (options.provider ?? provider)(), options.env);
  }
  const socket = await connect(server.url, owner.token);
  const feed = new ReviewFeed(socket, review.id);
  await feed.join();
  const sectionId = (title: string): string =>
    review.sections.find((s: { title: string }) => s.title === title)!.id;
  return { prefix, server, owner, review, socket, feed, sectionId };
}

/** Like `waitFor`, for a check that must ask Redis (re-checked every 20 ms until the timeout). */
async function waitForAsync<T>(check: () => Promise<T | false>, timeoutMs: number, what: string): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const ofType = <T extends ReviewEvent['type']>(events: ReviewEvent[], type: T) =>
  events.filter((e): e is Extract<ReviewEvent, { type: T }> => e.type === type);

const statusesOf = (feed: ReviewFeed, sectionId: string) =>
  ofType(feed.events, 'section.status')
    .filter((e) => e.data.sectionId === sectionId)
    .map((e) => e.data.status);

const added = (feed: ReviewFeed, after = 0): FeedbackItem[] =>
  ofType(feed.events, 'feedback.added')
    .filter((e) => e.seq > after)
    .map((e) => e.data.item);

/** Waits for the section's status to become `status` after event `after`. */
const sectionReaches = (feed: ReviewFeed, sectionId: string, status: string, after = 0) =>
  waitFor(
    () =>
      ofType(feed.events, 'section.status').some(
        (e) => e.seq > after && e.data.sectionId === sectionId && e.data.status === status,
      ),
    30_000,
    `section ${sectionId} ${status}`,
  );

const line = (finding: Record<string, unknown>): string =>
  JSON.stringify({ questions: [], refs: [7], risk: 'medium', confidence: 0.9, ...finding });

/** The `<section>` block's text in an analysis request. */
const sectionTextOf = (body: ConverseBody): string =>
  /<section id="[^"]+" title="[^"]*">\n([\s\S]*?)\n<\/section>/.exec(lastUserTextOf(body))![1]!;

describe('memory of the team’s decisions', () => {
  it('tells the model what was accepted and rejected and why, and drops a rejected finding offered again', async () => {
    standIn.reset();
    const r = await room('memory');
    const actions = r.sectionId('Actions');
    standIn.script({
      kind: 'analysis',
      text: [
        line({
          type: 'important',
          category: 'Actions',
          description: 'The monitoring action has no owner and no due date.',
          quote: 'We will improve monitoring soon.',
        }),
        line({
          type: 'suggestion',
          category: 'Actions',
          description: 'Say which part of the change process will be reviewed, and by when.',
          quote: 'The team will review the change process.',
        }),
      ].join('\n'),
    });
    await call(r.socket, 'analysis:start', { reviewId: r.review.id, sectionIds: [actions] });
    await sectionReaches(r.feed, actions, 'done');
    const [monitoring, process] = added(r.feed);
    expect(monitoring!.description).toContain('no owner');

    const rejected = await call(r.socket, 'feedback:decide', {
      reviewId: r.review.id,
      feedbackId: monitoring!.id,
      status: 'rejected',
      version: 1,
    });
    expect(rejected.ok).toBe(true);
    const reason = await call(r.socket, 'feedback:add', {
      reviewId: r.review.id,
      sectionId: actions,
      type: 'suggestion',
      category: 'Actions',
      description: 'Monitoring already has an owner: the SRE lead, named in the appendix.',
      linkedTo: monitoring!.id,
    });
    expect(reason.ok).toBe(true);
    const accepted = await call(r.socket, 'feedback:decide', {
      reviewId: r.review.id,
      feedbackId: process!.id,
      status: 'accepted',
      version: 1,
    });
    expect(accepted.ok).toBe(true);

    // The model offers the rejected point again: once with the same quote, once reworded on another.
    standIn.script({
      kind: 'analysis',
      text: [
        line({
          type: 'critical',
          category: 'Ownership',
          description: 'Nobody owns improving the monitoring.',
          quote: 'We will improve monitoring soon.',
        }),
        line({
          type: 'important',
          category: 'Actions',
          description: 'The monitoring action has no owner and has no due date.',
          quote: 'The team will review the change process.',
        }),
        line({
          type: 'important',
          category: 'Evidence',
          description: 'Name the alert that should have paged someone.',
          quote: 'improve monitoring',
        }),
      ].join('\n'),
    });
    const mark = r.feed.seq;
    await call(r.socket, 'analysis:start', { reviewId: r.review.id, sectionIds: [actions] });
    await sectionReaches(r.feed, actions, 'done', mark);

    expect(added(r.feed, mark).map((i) => i.description)).toEqual([
      'Name the alert that should have paged someone.',
    ]);
    const snapshot = (await call(r.socket, 'review:join', { reviewId: r.review.id })).snapshot;
    const items = (snapshot.feedback as FeedbackItem[]).filter((i) => i.sectionId === actions);
    expect(items.filter((i) => i.status === 'rejected').map((i) => i.id)).toEqual([monitoring!.id]);

    // The re-analysis request carried the decisions, after the cache point.
    const [, second] = standIn.requestsOf('analysis');
    const task = lastUserTextOf(second!.body);
    expect(task).toContain(
      'REJECTED by Olga: [important · Actions] The monitoring action has no owner and no due date.',
    );
    expect(task).toContain('Why: Monitoring already has an owner: the SRE lead');
    expect(task).toContain('ACCEPTED by Olga: [suggestion · Actions] Say which part of the change process');
    expect(systemTextOf(second!.body)).not.toContain('REJECTED');
    expect(second!.body.system!.at(-1)).toEqual({ cachePoint: { type: 'default' } });
  });

  it('defines types, risks and confidence, asks for at most MAX_FINDINGS_PER_SECTION, and shows no more', async () => {
    standIn.reset();
    const r = await room('cap', { env: { MAX_FINDINGS_PER_SECTION: '2' } });
    const summary = r.sectionId('Summary');
    standIn.script({
      kind: 'analysis',
      text: [
        line({
          type: 'critical',
          category: 'Impact',
          description: 'The impact gives customers but no revenue figure.',
          quote: 'About 12,000 customers could not complete checkout.',
          replacement: 'About 12,000 customers (EUR 80,000 of orders) could not complete checkout.',
        }),
        line({
          type: 'important',
          category: 'Timeline',
          description: 'Give the start time.',
          quote: 'on 3 March',
        }),
        line({
          type: 'suggestion',
          category: 'Clarity',
          description: 'A third finding over the cap.',
          quote: 'outage',
        }),
      ].join('\n'),
    });
    await call(r.socket, 'analysis:start', { reviewId: r.review.id, sectionIds: [summary] });
    await sectionReaches(r.feed, summary, 'done');

    const shown = added(r.feed);
    expect(shown.map((i) => i.description)).toEqual([
      'The impact gives customers but no revenue figure.',
      'Give the start time.',
    ]);
    expect(shown[0]!.replacement).toBe(
      'About 12,000 customers (EUR 80,000 of orders) could not complete checkout.',
    );
    const [request] = standIn.requestsOf('analysis');
    const system = systemTextOf(request!.body);
    for (const term of [
      '- critical:',
      '- important:',
      '- suggestion:',
      '- positive:',
      '- high:',
      '- medium:',
      '- low:',
    ]) {
      expect(system).toContain(term);
    }
    expect(system).toContain('0.95 and above');
    expect(system).toContain('Findings below 0.8 are not shown');
    expect(system).toContain('replacement:');
    expect(lastUserTextOf(request!.body)).toContain('Report at most 2 findings, the most important first');
  });
});

describe('chat knows the findings', () => {
  it('sends the findings with their decisions and who decided, and thinks when asked without showing it', async () => {
    standIn.reset();
    const r = await room('chat-memory');
    const actions = r.sectionId('Actions');
    standIn.script({
      kind: 'analysis',
      text: [
        line({
          type: 'important',
          category: 'Actions',
          description: 'The monitoring action has no owner.',
          quote: 'We will improve monitoring soon.',
        }),
        line({
          type: 'suggestion',
          category: 'Process',
          description: 'Say what the process review covers.',
          quote: 'The team will review the change process.',
        }),
      ].join('\n'),
    });
    await call(r.socket, 'analysis:start', { reviewId: r.review.id, sectionIds: [actions] });
    await sectionReaches(r.feed, actions, 'done');
    const [monitoring] = added(r.feed);
    await call(r.socket, 'feedback:decide', {
      reviewId: r.review.id,
      feedbackId: monitoring!.id,
      status: 'rejected',
      version: 1,
    });

    const sent = await call(r.socket, 'chat:send', {
      reviewId: r.review.id,
      text: 'Why did we reject the monitoring finding?',
      thinking: true,
    });
    expect(sent.ok).toBe(true);
    await waitFor(() => ofType(r.feed.events, 'chat.done').length === 1, 20_000, 'chat done');

    const [chat] = standIn.requestsOf('chat');
    const task = lastUserTextOf(chat!.body);
    expect(task).toContain(
      '· important · Actions · rejected by Olga (from the model): The monitoring action has no owner.',
    );
    expect(task).toContain('Quote: "We will improve monitoring soon."');
    expect(task).toContain(
      '· suggestion · Process · pending (from the model): Say what the process review covers.',
    );
    expect(task).not.toContain(monitoring!.id);
    expect(systemTextOf(chat!.body)).not.toContain('rejected by Olga');
    expect(chat!.body.additionalModelRequestFields).toMatchObject({ thinking: { type: 'enabled' } });
    // The stand-in reasoned first ("The question is about the document as a whole…"): not in the answer.
    const done = ofType(r.feed.events, 'chat.done')[0]!.data;
    expect(done.text).not.toContain('The question is about the document as a whole');
    expect(done.text).toContain('According to the document');
  });
});

describe('the whole-document pass', () => {
  it('runs once after the last section, adding a finding at each of the two places that disagree', async () => {
    standIn.reset();
    const r = await room('document-pass', { workers: 2 });
    const summary = r.sectionId('Summary');
    const timeline = r.sectionId('Timeline');
    // Every section answers at once, so they finish together on the two workers.
    standIn.script(
      { kind: 'analysis', text: 'No findings in this section.', times: Number.POSITIVE_INFINITY },
      {
        kind: 'consistency',
        text: line({
          type: 'critical',
          category: 'Consistency',
          description: 'The outage lasted four hours here, but two hours by the restore time.',
          risk: 'high',
          confidence: 0.97,
          refs: [10],
          sectionId: summary,
          quote: 'The outage lasted four hours on 3 March.',
          otherSectionId: timeline,
          otherQuote: 'two hours after the change',
        }),
      },
    );
    await call(r.socket, 'analysis:start', { reviewId: r.review.id });
    await waitFor(() => added(r.feed).length === 2, 30_000, 'the pass adds its findings');
    const [here, there] = added(r.feed);
    expect(here).toMatchObject({
      sectionId: summary,
      quote: 'The outage lasted four hours on 3 March.',
      description: 'The outage lasted four hours here, but two hours by the restore time. (See "Timeline".)',
      type: 'critical',
      source: 'ai',
      refs: [10],
      linkedTo: there!.id,
    });
    expect(there).toMatchObject({
      sectionId: timeline,
      quote: 'two hours after the change',
      description:
        'Disagrees with "Summary": The outage lasted four hours here, but two hours by the restore time.',
      linkedTo: here!.id,
    });

    // Once: the queues drain with one pass asked for, and one round claimed.
    const queue = new Queue('analysis', { connection: { url: REDIS_URL }, prefix: `${r.prefix}bull` });
    onCleanup(() => queue.close());
    await waitForAsync(
      async () => {
        const counts = await queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
        return Object.values(counts).every((n) => n === 0);
      },
      20_000,
      'queues drained',
    );
    expect(standIn.requestsOf('consistency')).toHaveLength(1);
    const pass = standIn.requestsOf('consistency')[0]!.body;
    expect(lastUserTextOf(pass)).toContain('<consistency-check>');
    expect(JSON.stringify(pass.system)).toBe(JSON.stringify(standIn.requestsOf('analysis')[0]!.body.system));

    // Many section jobs deciding at the same moment that they were the last: one claim wins.
    const redis = new Redis(REDIS_URL);
    onCleanup(() => redis.quit());
    const jobsKey = `${r.prefix}review:{${r.review.id}}:jobs`;
    const rounds = Object.keys(await redis.hgetall(jobsKey)).filter((f) => f.startsWith('document:round:'));
    expect(rounds).toHaveLength(1);
    await redis.hdel(jobsKey, rounds[0]!);
    let queued = 0;
    const log = new EventLog(redis, { prefix: r.prefix });
    const context = {
      store: new ReviewStore(redis, log),
      provider: provider(),
      logger: pino({ level: 'silent' }),
      enqueue: async () => {
        queued += 1;
      },
    } as unknown as JobContext;
    await Promise.all(Array.from({ length: 8 }, () => queueDocumentPassIfDone(context, r.review.id)));
    expect(queued).toBe(1);
  });
});

describe('long sections', () => {
  it('analyses a section over 12,000 characters in parts, in one job, quoting its exact words', async () => {
    standIn.reset();
    const paragraphs = Array.from(
      { length: 80 },
      (_, i) =>
        `Paragraph ${i + 1} of the findings: on day ${i + 1} the team measured ${100 + i} requests per second at the edge, and the latency stayed under ${20 + i} ms for every region that was checked in the audit.`,
    );
    const doc = [
      { title: 'Findings', paragraphs },
      { title: 'Close', paragraphs: ['The audit ends here.'] },
    ];
    const r = await room('parts', { doc });
    const findings = r.sectionId('Findings');
    const snapshot = (await call(r.socket, 'review:join', { reviewId: r.review.id })).snapshot;
    const sectionText = snapshot.sections.find((s: { id: string }) => s.id === findings)!.text as string;
    expect(sectionText.length).toBeGreaterThan(12_000);
    await call(r.socket, 'analysis:start', { reviewId: r.review.id, sectionIds: [findings] });
    await sectionReaches(r.feed, findings, 'done');

    const calls = standIn.requestsOf('analysis');
    expect(calls.length).toBe(2);
    const parts = calls.map((c) => sectionTextOf(c.body));
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(12_000);
    expect(parts.join('\n')).toBe(sectionText);
    expect(lastUserTextOf(calls[0]!.body)).toContain('Review part 1 of 2 of this section');
    expect(lastUserTextOf(calls[1]!.body)).toContain('Review part 2 of 2 of this section');
    expect(lastUserTextOf(calls[0]!.body)).toContain('Report at most 4 findings');

    // One job, one status run; findings from both parts, each quoting one paragraph word for word.
    expect(statusesOf(r.feed, findings)).toEqual(['queued', 'analyzing', 'done']);
    const items = added(r.feed);
    expect(items.length).toBe(6);
    for (const item of items)
      expect(
        ['Findings', ...paragraphs].some((p) => p.includes(item.quote!)),
        item.quote,
      ).toBe(true);
    const fromSecond = items.filter(
      (item) => parts[1]!.includes(item.quote!) && !parts[0]!.includes(item.quote!),
    );
    expect(fromSecond.length).toBeGreaterThan(0);
  });
});

describe('without a model', () => {
  it('the rules provider does not bring back what the team rejected, and there is no whole-document pass', async () => {
    const rules = () =>
      createProvider(loadConfig({ REDIS_URL, AI_PROVIDER: 'rules' }), pino({ level: 'silent' }));
    const doc = [
      {
        title: 'Policy',
        paragraphs: [
          'The decision was made by the committee after the the review.',
          'In order to utilize the new system, staff should perhaps attend training.',
          'TBD: the retention period for customer records.',
        ],
      },
      { title: 'Owners', paragraphs: ['We will improve the process soon.'] },
    ];
    const r = await room('rules-memory', { provider: rules, doc });
    const policy = r.sectionId('Policy');
    await call(r.socket, 'analysis:start', { reviewId: r.review.id });
    await waitFor(
      () => r.review.sections.every((s: { id: string }) => statusesOf(r.feed, s.id).includes('done')),
      30_000,
      'both sections analysed',
    );
    const first = added(r.feed).filter((i) => i.sectionId === policy);
    expect(first.length).toBeGreaterThan(0);
    const target = first[0]!;
    expect(target.source).toBe('rules');
    const rejected = await call(r.socket, 'feedback:decide', {
      reviewId: r.review.id,
      feedbackId: target.id,
      status: 'rejected',
      version: 1,
    });
    expect(rejected.ok).toBe(true);

    const mark = r.feed.seq;
    await call(r.socket, 'analysis:start', { reviewId: r.review.id, sectionIds: [policy] });
    await sectionReaches(r.feed, policy, 'done', mark);
    const again = added(r.feed, mark);
    // The rules are deterministic: the rest comes back, the rejected point does not.
    expect(again.length).toBeGreaterThanOrEqual(1);
    for (const item of again) {
      if (target.quote) expect(item.quote).not.toBe(target.quote);
      expect(item.description).not.toBe(target.description);
    }

    const queue = new Queue('analysis', { connection: { url: REDIS_URL }, prefix: `${r.prefix}bull` });
    onCleanup(() => queue.close());
    await waitForAsync(
      async () => {
        const counts = await queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
        return Object.values(counts).every((n) => n === 0);
      },
      20_000,
      'queues drained',
    );
    const jobs = await queue.getJobs(['completed', 'failed', 'waiting', 'active']);
    expect(jobs.map((job) => job.name)).not.toContain('analysis.document');
  });
});
