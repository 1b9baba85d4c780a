import { describe, expect, it } from 'vitest';
import type { Section } from './protocol.ts';
import { carryItems, matchSections, quoteStillIn, withRevision, wordDiff } from './revisions.ts';
import type { FeedbackItem } from './schemas.ts';

const section = (id: string, index: number, title: string, text: string): Section => ({
  id,
  index,
  title,
  level: 1,
  html: `<h1>${title}</h1><p>${text}</p>`,
  text,
});

const INTRO = 'Prism reviews Word documents with a team, live, and keeps every decision.';
const SCOPE = 'The pilot covers the finance team and the legal team for three months in spring.';
const RISKS = 'Budget overruns are likely when vendors change their prices without notice.';

const v1 = [
  section('s1', 0, 'Introduction', INTRO),
  section('s2', 1, 'Scope', SCOPE),
  section('s3', 2, 'Risks', RISKS),
];

const item = (id: string, overrides: Partial<FeedbackItem>): FeedbackItem => ({
  id,
  sectionId: 's1',
  type: 'important',
  category: 'Clarity',
  description: 'Say more.',
  questions: [],
  refs: [],
  risk: 'medium',
  confidence: 0.8,
  source: 'ai',
  status: 'accepted',
  createdBy: { id: 'prism', name: 'Prism' },
  createdAt: '2026-12-01T10:00:00.000Z',
  version: 2,
  ...overrides,
});

const fresh = (index: number) => `r2s${index + 1}`;

describe('matching sections', () => {
  it('keeps ids of unchanged and edited sections, gives new ones new ids, and finds removed ones', () => {
    const v2 = [
      section('s1', 0, 'Introduction', INTRO),
      section('s2', 1, 'Scope', SCOPE.replace('three months in spring', 'six months from March')),
      section('s3', 2, 'Timeline', 'Kick-off is in March; the first review round closes in April.'),
      section('s4', 3, 'Risks', RISKS),
    ];
    const match = matchSections(v1, v2, fresh);
    expect(match.sections.map((s) => s.id)).toEqual(['s1', 's2', 'r2s3', 's3']);
    expect(match.sections.map((s) => s.index)).toEqual([0, 1, 2, 3]);
    expect(match.changes).toEqual({ s1: 'unchanged', s2: 'changed', r2s3: 'new', s3: 'unchanged' });
    expect(match.changedSections).toEqual(['s2', 'r2s3']);
    expect(match.newSections).toEqual(['r2s3']);
    expect(match.removedSections).toEqual([]);
    // The new revision's content under the kept id.
    expect(match.sections[1]!.text).toContain('six months from March');
  });

  it('matches a renamed heading over the same body, and drops a section that is gone', () => {
    const v2 = [section('s1', 0, 'Overview', INTRO), section('s2', 1, 'Risks', RISKS)];
    const match = matchSections(v1, v2, fresh);
    expect(match.sections.map((s) => s.id)).toEqual(['s1', 's3']);
    expect(match.changes).toMatchObject({ s1: 'changed', s3: 'unchanged', s2: 'removed' });
    expect(match.removedSections).toEqual(['s2']);
  });

  it('pairs repeated headings by content, not by name alone', () => {
    const a = section('s1', 0, 'Notes', 'Apples and pears grow in the northern orchard near the river.');
    const b = section(
      's2',
      1,
      'Notes',
      'Servers run in two regions with a shared Redis cluster and backups.',
    );
    const v2 = [
      section(
        'x1',
        0,
        'Notes',
        'Servers run in two regions with a shared Redis cluster and nightly backups.',
      ),
      section('x2', 1, 'Notes', 'Apples and pears grow in the northern orchard near the lake.'),
    ];
    const match = matchSections([a, b], v2, fresh);
    expect(match.sections.map((s) => s.id)).toEqual(['s2', 's1']);
  });

  it('does not match a section whose heading and words are all different', () => {
    const v2 = [section('s1', 0, 'Glossary', 'Terms: quorum, ballot, proxy, tally.')];
    const match = matchSections(v1, v2, fresh);
    expect(match.sections.map((s) => s.id)).toEqual(['r2s1']);
    expect(match.removedSections).toEqual(['s1', 's2', 's3']);
  });
});

describe('carrying items', () => {
  const v2 = [
    section('s1', 0, 'Introduction', INTRO),
    section('s2', 1, 'Scope', SCOPE.replace('the legal team', 'the sales team')),
    section('s3', 2, 'Risks', RISKS),
  ];
  const match = matchSections(v1, v2, fresh);

  it('carries decided items whose quote is still there, outdates the others, removes pending findings of changed sections', () => {
    const items = [
      item('f_kept', { sectionId: 's1', quote: 'keeps every decision', status: 'accepted' }),
      item('f_still', { sectionId: 's2', quote: 'the finance team', status: 'rejected' }),
      item('f_gone', { sectionId: 's2', quote: 'the legal team', status: 'accepted' }),
      item('f_mine', { sectionId: 's2', quote: 'the legal team', source: 'user', status: 'accepted' }),
      item('f_pending_changed', {
        sectionId: 's2',
        quote: 'the finance team',
        status: 'pending',
        version: 1,
      }),
      item('f_pending_same', { sectionId: 's3', quote: 'Budget overruns', status: 'pending', version: 1 }),
      item('f_old', { sectionId: 's2', quote: 'the legal team', outdated: true }),
    ];
    const result = carryItems(items, match, 2);
    expect(result.carried.map((i) => i.id)).toEqual(['f_kept', 'f_still']);
    expect(result.carried.every((i) => i.revision === 2)).toBe(true);
    expect(result.carried.map((i) => i.status)).toEqual(['accepted', 'rejected']);
    expect(result.outdated.map((i) => i.id)).toEqual(['f_gone', 'f_mine']);
    expect(result.outdated.every((i) => i.outdated === true && i.status === 'accepted')).toBe(true);
    expect(result.removed.map((i) => i.id)).toEqual(['f_pending_changed']);
  });

  it('outdates decided items of a removed section and removes its pending findings', () => {
    const shorter = matchSections(v1, [v2[0]!, v2[2]!], fresh);
    const result = carryItems(
      [
        item('f_a', { sectionId: 's2', quote: 'the finance team' }),
        item('f_b', { sectionId: 's2', status: 'pending', version: 1 }),
      ],
      shorter,
      2,
    );
    expect(result.outdated.map((i) => i.id)).toEqual(['f_a']);
    expect(result.removed.map((i) => i.id)).toEqual(['f_b']);
  });

  it('matches quotes with whitespace collapsed', () => {
    expect(quoteStillIn({ quote: 'the  finance\nteam' }, SCOPE)).toBe(true);
    expect(quoteStillIn({ quote: 'the sales team' }, SCOPE)).toBe(false);
    expect(quoteStillIn({}, SCOPE)).toBe(true);
  });

  it("fills an item's revision from when it was made unless it was carried", () => {
    const revisions = [
      { number: 1, at: '2026-12-01T09:00:00.000Z' },
      { number: 2, at: '2026-12-02T09:00:00.000Z' },
    ];
    expect(withRevision(item('f', {}), revisions)).toMatchObject({ revision: 1, outdated: false });
    expect(withRevision(item('f', { createdAt: '2026-12-03T00:00:00.000Z' }), revisions).revision).toBe(2);
    expect(withRevision(item('f', { revision: 2 }), revisions).revision).toBe(2);
  });
});

describe('word diff', () => {
  it('marks inserted and deleted words and keeps the rest equal', () => {
    const { changes } = wordDiff('The pilot covers the legal team.', 'The pilot covers the sales team.');
    expect(changes).toEqual([
      { op: 'equal', text: 'The pilot covers the ' },
      { op: 'delete', text: 'legal' },
      { op: 'insert', text: 'sales' },
      { op: 'equal', text: ' team.' },
    ]);
    // Applying the equal and inserted parts gives the new text; equal and deleted, the old.
    const joined = (ops: string[]) =>
      changes
        .filter((c) => ops.includes(c.op))
        .map((c) => c.text)
        .join('');
    expect(joined(['equal', 'insert'])).toBe('The pilot covers the sales team.');
    expect(joined(['equal', 'delete'])).toBe('The pilot covers the legal team.');
  });

  it('is all insert for a new section', () => {
    expect(wordDiff('', 'Fresh text.').changes).toEqual([{ op: 'insert', text: 'Fresh text.' }]);
  });
});
