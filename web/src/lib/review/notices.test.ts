import { describe, expect, it } from 'vitest';
import type { FeedbackItem } from '../types.ts';
import { ReviewState } from './apply.ts';
import { type Mention, newMentions, unreadMentions } from './notices.ts';

const ME = { id: 'u-me', name: 'Mia' };
const ANA = { id: 'u-ana', name: 'Ana' };

const reply = (
  id: string,
  author: typeof ME,
  mentions: string[],
  createdAt = '2026-01-01T10:00:00.000Z',
) => ({
  id,
  author,
  text: `@Mia reply ${id}`,
  createdAt,
  mentions,
});

const item = (replies: ReturnType<typeof reply>[], over: Partial<FeedbackItem> = {}): FeedbackItem => ({
  id: 'f1',
  sectionId: 's1',
  type: 'important',
  category: 'Evidence',
  description: 'Say how it was measured.',
  questions: [],
  refs: [],
  risk: 'medium',
  confidence: 1,
  source: 'user',
  status: 'accepted',
  createdBy: ANA,
  createdAt: '2026-01-01T09:00:00.000Z',
  version: 2,
  replies,
  resolved: false,
  ...over,
});

describe('mention notices', () => {
  it('finds the new replies that mention me, not my own nor ones already seen', () => {
    const before = item([reply('a', ANA, [ME.id])]);
    const after = item([
      reply('a', ANA, [ME.id]),
      reply('b', ANA, [ME.id]),
      reply('c', ME, [ME.id]),
      reply('d', ANA, []),
    ]);
    expect(newMentions(before, after, ME.id).map((m) => m.reply.id)).toEqual(['b']);
  });

  it('lists mentions since the last visit, none on a first visit', () => {
    const items = [
      item([
        reply('a', ANA, [ME.id], '2026-01-01T08:00:00.000Z'),
        reply('b', ANA, [ME.id], '2026-01-02T08:00:00.000Z'),
      ]),
    ];
    expect(unreadMentions(items, ME.id, '2026-01-01T12:00:00.000Z').map((m) => m.reply.id)).toEqual(['b']);
    expect(unreadMentions(items, ME.id, undefined)).toEqual([]);
  });

  it('tells of a logged reply mentioning me, and an ack at the same version keeps the thread', () => {
    const heard: Mention[][] = [];
    const state = new ReviewState({ me: ME, onMention: (mentions) => heard.push(mentions) });
    state.load({ feedback: [item([])], sections: [], chat: [], members: [] } as never);
    const withReply = item([reply('b', ANA, [ME.id])]);
    state.apply({
      seq: 2,
      reviewId: 'r1',
      type: 'feedback.updated',
      at: '',
      actor: ANA,
      data: { item: withReply },
    } as never);
    expect(heard.map((m) => m.map((x) => x.reply.id))).toEqual([['b']]);
    // A decision's ack written before that reply (same version: replies keep it) must not drop it.
    state.putItem(item([], { status: 'rejected' }));
    expect(state.server.get('f1')).toMatchObject({ status: 'rejected', replies: [{ id: 'b' }] });
  });
});
