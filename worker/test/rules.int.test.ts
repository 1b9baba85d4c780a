/**
 * Without AWS, the rules provider reviews for real and says what it is: every item it makes is
 * labelled `rules`, quotes the section, and chat answers with the document's own passages.
 */
import type { ReviewEvent } from '@prism/core';
import { describe, expect, it } from 'vitest';
import { call, connect, ReviewFeed, serverWithReview, startWorker, waitFor } from '../../test/helpers.ts';
import { RulesProvider } from '../src/ai/rules.ts';

/** The owner's review of one section through a real worker on the rules provider, analysed to done. */
async function analysed(name: string, ownerName: string, title: string, paragraphs: string[]) {
  const { prefix, server, owner, review } = await serverWithReview(name, [{ title, paragraphs }], {
    owner: ownerName,
  });
  await startWorker(prefix, new RulesProvider());
  const socket = await connect(server.url, owner.token);
  const feed = new ReviewFeed(socket, review.id);
  await feed.join();
  await call(socket, 'analysis:start', { reviewId: review.id });
  await waitFor(
    () => feed.events.some((e) => e.type === 'section.status' && e.data.status === 'done'),
    20_000,
    'analysis done',
  );
  return { review, socket, feed };
}

describe('the rules provider through the real worker', () => {
  it('streams labelled structural and prose findings and answers chat from the document', async () => {
    const paragraphs = [
      'The decision was made by the committee after the the review.',
      'In order to utilize the new system, staff should perhaps attend training.',
      'The retention period for customer records is seven years.',
      'The archive was moved to cold storage and was encrypted with a new key.',
      'The budget owner is TBD.',
    ];
    const { review, socket, feed } = await analysed('rules', 'Olga', 'Policy', paragraphs);
    const items = feed.events
      .filter((e): e is Extract<ReviewEvent, { type: 'feedback.added' }> => e.type === 'feedback.added')
      .map((e) => e.data.item);
    expect(items.length).toBeGreaterThanOrEqual(3);
    const categories = new Set(items.map((i) => i.category));
    expect(categories).toContain('Passive voice');
    expect(categories).toContain('Repeated word');
    // "was made by the committee" names who acted: only actorless passives are flagged.
    expect(items.some((i) => i.quote === 'was made')).toBe(false);
    // Structural findings come first; prose ones are grouped, one per kind in the section.
    expect(items[0]).toMatchObject({ category: 'Placeholder', quote: 'TBD', type: 'important' });
    const passive = items.filter((i) => i.category === 'Passive voice');
    expect(passive).toHaveLength(1);
    expect(passive[0]!.quote).toBe('was moved');
    expect(passive[0]!.description).toContain('“was encrypted”');
    expect(items.find((i) => i.category === 'Repeated word')).toMatchObject({
      quote: 'the the',
      replacement: 'the',
    });
    for (const item of items) {
      // A rule matches or it does not: no probability to show.
      expect(item).toMatchObject({ source: 'rules', model: 'rules', status: 'pending', confidence: 1 });
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

  it('says plainly when a section is in a language the prose checks do not cover', async () => {
    const paragraphs = [
      'Поставщик обязуется передать товар покупателю в течение тридцати дней после подписания договора.',
      'Покупатель обязуется принять товар и оплатить его в порядке, предусмотренном настоящим договором.',
      'Сумма договора составляет TBD рублей и включает все налоги и сборы, установленные законом.',
      'Все споры разрешаются путём переговоров, а при недостижении согласия передаются в арбитражный суд.',
    ];
    const { review, socket, feed } = await analysed('rules-lang', 'Irina', 'Договор поставки', paragraphs);
    const done = feed.events.find(
      (e): e is Extract<ReviewEvent, { type: 'section.status' }> =>
        e.type === 'section.status' && e.data.status === 'done',
    )!;
    expect(done.data.note).toMatch(/Prose checks cover English; this section is Russian/);
    // The structural checks still ran: the placeholder is found.
    const items = feed.events
      .filter((e): e is Extract<ReviewEvent, { type: 'feedback.added' }> => e.type === 'feedback.added')
      .map((e) => e.data.item);
    expect(items.some((i) => i.category === 'Placeholder' && i.quote === 'TBD')).toBe(true);
    // A joiner sees the note too.
    const snapshot = (await call(socket, 'review:join', { reviewId: review.id })).snapshot;
    expect(snapshot.sections[0]!.note).toBe(done.data.note);
  });
});
