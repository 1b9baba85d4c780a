import { describe, expect, it } from 'vitest';
import type { FeedbackItem, ReviewEvent, ReviewSnapshot, Section } from '../types.ts';
import { ReviewState } from './apply.ts';
import { condense, latestChanges, type RevisionInfo, revisionSummary } from './revisions.ts';

const me = { id: 'u_olga', name: 'Olga' };
const section = (id: string, index: number, text: string, status: Section['status']): Section => ({
  id,
  index,
  title: `Section ${index + 1}`,
  level: 1,
  html: `<p>${text}</p>`,
  text,
  status,
});
const item = (id: string, sectionId: string, overrides: Partial<FeedbackItem> = {}): FeedbackItem => ({
  id,
  sectionId,
  type: 'important',
  category: 'Clarity',
  description: 'Say more.',
  questions: [],
  refs: [],
  risk: 'low',
  confidence: 1,
  source: 'rules',
  status: 'accepted',
  createdBy: { id: 'prism', name: 'Prism' },
  createdAt: '2026-12-01T10:00:00.000Z',
  version: 2,
  ...overrides,
});
const first: RevisionInfo = {
  number: 1,
  at: '2026-12-01T09:00:00.000Z',
  by: me,
  name: 'plan.docx',
  changedSections: [],
  newSections: [],
  removedSections: [],
  carried: 0,
  outdated: 0,
};
const second: RevisionInfo = {
  ...first,
  number: 2,
  at: '2026-12-02T09:00:00.000Z',
  name: 'plan-v2.docx',
  changedSections: ['s2', 'r2s3'],
  newSections: ['r2s3'],
  carried: 1,
  outdated: 1,
};

describe('a revision in the room', () => {
  it('replaces the sections, lands carried and outdated items, drops removed ones', () => {
    const state = new ReviewState({ me });
    state.load({
      seq: 5,
      sections: [section('s1', 0, 'Same.', 'done'), section('s2', 1, 'Old text.', 'done')],
      feedback: [item('f_kept', 's1'), item('f_gone', 's2'), item('f_pending', 's2', { status: 'pending' })],
      chat: [],
      members: [],
      revision: 1,
      revisions: [first],
    } as unknown as ReviewSnapshot);
    state.takeDirty();
    const event = {
      reviewId: 'r_1',
      seq: 6,
      type: 'revision.added',
      at: second.at,
      actor: me,
      data: {
        number: 2,
        changedSections: second.changedSections,
        carried: 1,
        outdated: 1,
        revision: second,
        sections: [
          section('s1', 0, 'Same.', 'done'),
          section('s2', 1, 'New text.', 'idle'),
          section('r2s3', 2, 'Added.', 'idle'),
        ],
        items: [item('f_kept', 's1', { revision: 2 }), item('f_gone', 's2', { outdated: true })],
        removedItems: ['f_pending'],
      },
    } as ReviewEvent<'revision.added'>;
    state.apply(event);
    expect(state.revision).toBe(2);
    expect(state.revisions.map((r) => r.number)).toEqual([1, 2]);
    expect([...state.sections.keys()]).toEqual(['s1', 's2', 'r2s3']);
    expect(state.sections.get('s2')).toMatchObject({ text: 'New text.', status: 'idle' });
    expect(state.server.get('f_kept')?.revision).toBe(2);
    expect(state.server.get('f_gone')?.outdated).toBe(true);
    expect(state.server.has('f_pending')).toBe(false);
    expect(state.takeDirty()).toMatchObject({ sections: true, items: true });
  });

  it('names what the latest revision changed', () => {
    expect([...latestChanges([first, second])]).toEqual([
      ['s2', 'changed'],
      ['r2s3', 'new'],
    ]);
    expect(latestChanges([first]).size).toBe(0);
    expect(revisionSummary(second)).toBe('1 section changed, 1 new · 1 item carried, 1 outdated');
  });
});

describe('condensing a diff', () => {
  it('cuts unchanged text far from the change and keeps the words around it', () => {
    const long = Array.from({ length: 80 }, (_, i) => `w${i}`).join(' ');
    const shown = condense([
      { op: 'equal', text: `${long} ` },
      { op: 'delete', text: 'a' },
      { op: 'insert', text: 'two' },
      { op: 'equal', text: ` ${long}` },
    ]);
    expect(shown[0]!.cut).toBe('start');
    expect(shown[0]!.text.endsWith('w79 ')).toBe(true);
    expect(shown[0]!.text.length).toBeLessThan(long.length);
    expect(shown.slice(1, 3)).toEqual([
      { op: 'delete', text: 'a' },
      { op: 'insert', text: 'two' },
    ]);
    expect(shown[3]!.cut).toBe('end');
    expect(shown[3]!.text.startsWith(' w0')).toBe(true);
  });

  it('leaves short diffs and a section without changes whole', () => {
    const parts = [
      { op: 'equal' as const, text: 'Short text. ' },
      { op: 'insert' as const, text: 'More.' },
    ];
    expect(condense(parts)).toEqual(parts);
  });
});
