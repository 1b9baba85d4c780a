/**
 * Without AWS, the rules provider reviews for real and says what it is: every item it makes is
 * labelled `rules`, quotes the section, and chat answers with the document's own passages.
 */
import type { ReviewEvent } from '@prism/core';
import { describe, expect, it } from 'vitest';
import {
  call,
  cleanupKeys,
  connect,
  createReview,
  makeDocx,
  ReviewFeed,
  session,
  startServer,
  startWorker,
  uniquePrefix,
  waitFor,
} from '../../test/helpers.ts';
import { RulesProvider } from '../src/ai/rules.ts';

describe('the rules provider through the real worker', () => {
  it('streams labelled prose findings and answers chat from the document', async () => {
    const prefix = uniquePrefix('rules');
    cleanupKeys(prefix);
    const server = await startServer(prefix);
    await startWorker(prefix, new RulesProvider());
    const owner = await session(server.url, 'Olga');
    const paragraphs = [
      'The decision was made by the committee after the the review.',
      'In order to utilize the new system, staff should perhaps attend training.',
      'The retention period for customer records is seven years.',
    ];
    const review = await createReview(
      server.url,
      owner.token,
      await makeDocx([{ title: 'Policy', paragraphs }]),
    );
    const socket = await connect(server.url, owner.token);
    const feed = new ReviewFeed(socket, review.id);
    await feed.join();

    await call(socket, 'analysis:start', { reviewId: review.id });
    await waitFor(
      () => feed.events.some((e) => e.type === 'section.status' && e.data.status === 'done'),
      20_000,
      'analysis done',
    );
    const items = feed.events
      .filter((e): e is Extract<ReviewEvent, { type: 'feedback.added' }> => e.type === 'feedback.added')
      .map((e) => e.data.item);
    expect(items.length).toBeGreaterThanOrEqual(3);
    const categories = new Set(items.map((i) => i.category));
    expect(categories).toContain('Passive voice');
    expect(categories).toContain('Repeated word');
    for (const item of items) {
      expect(item).toMatchObject({ source: 'rules', model: 'rules', status: 'pending' });
      expect(paragraphs.some((p) => p.includes(item.quote!))).toBe(true);
    }
    expect(new Set(items.map((i) => i.description)).size).toBe(items.length);

    const ack = await call(socket, 'chat:send', {
      reviewId: review.id,
      text: 'How long are customer records kept?',
    });
    await waitFor(() => feed.events.some((e) => e.type === 'chat.done'), 10_000, 'the answer');
    const done = feed.events.find((e) => e.type === 'chat.done')!.data as {
      messageId: string;
      text: string;
      model: string;
    };
    expect(done.messageId).toBe(ack.replyId);
    expect(done.model).toBe('rules');
    expect(done.text).toContain('No AI model is configured');
    expect(done.text).toContain('seven years');
  });
});
