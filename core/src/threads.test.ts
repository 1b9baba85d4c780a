import { describe, expect, it } from 'vitest';
import { addReply, MAX_REPLIES, resolveThread, withThread } from './review.ts';
import type { FeedbackItem, Reply } from './schemas.ts';

const olga = { id: 'u_olga', name: 'Olga' };
const item: FeedbackItem = {
  id: 'f_1',
  sectionId: 's_1',
  type: 'important',
  category: 'Evidence',
  description: 'Say how it was measured.',
  questions: [],
  refs: [],
  risk: 'medium',
  confidence: 1,
  source: 'ai',
  status: 'pending',
  createdBy: { id: 'prism', name: 'Prism' },
  createdAt: '2026-01-01T00:00:00.000Z',
  version: 3,
};
const reply = (id: string): Reply => ({
  id,
  author: olga,
  text: 'Checked.',
  createdAt: item.createdAt,
  mentions: [],
});

describe('threads', () => {
  it('reads an item stored before threads as no replies, unresolved', () => {
    expect(withThread(item)).toMatchObject({ replies: [], resolved: false, version: 3 });
  });

  it('appends replies and resolves without bumping the version', () => {
    const replied = addReply(item, reply('m_1'));
    expect(replied.kind).toBe('changed');
    expect(replied.item).toMatchObject({ replies: [reply('m_1')], version: 3 });
    // The same reply retried (a lost race re-runs the change) is not appended twice.
    expect(addReply(replied.item, reply('m_1')).kind).toBe('noop');
    const resolved = resolveThread(replied.item, true);
    expect(resolved).toMatchObject({ kind: 'changed', item: { resolved: true, version: 3 } });
    expect(resolveThread(resolved.item, true).kind).toBe('noop');
    expect(resolveThread(item, false).kind).toBe('noop');
  });

  it('refuses a reply beyond the cap with too_long', () => {
    const full = { ...item, replies: Array.from({ length: MAX_REPLIES }, (_, i) => reply(`m_${i}`)) };
    expect(() => addReply(full, reply('m_new'))).toThrow(expect.objectContaining({ code: 'too_long' }));
  });
});
