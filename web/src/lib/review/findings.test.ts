import { describe, expect, it } from 'vitest';
import type { FeedbackItem, Section } from '../types.ts';
import { quoted } from './activity.ts';
import { commonQuestions, NO_FILTERS, nextPending, stepFinding, visibleFindings } from './findings.ts';
import { countOf, findingStats } from './statistics.ts';
import { feedbackItem } from './test-items.ts';

const item = (id: string, sectionId: string, overrides: Partial<FeedbackItem> = {}): FeedbackItem =>
  feedbackItem(id, { sectionId, ...overrides });

const section = (id: string, index: number): Section =>
  ({ id, title: id, level: 1, index, html: '', text: '', status: 'done' }) as Section;

const SECTIONS = [section('s1', 0), section('s2', 1), section('s3', 2)];
const ITEMS = [item('a', 's1'), item('b', 's1', { status: 'accepted' }), item('c', 's3'), item('d', 's3')];

describe('the findings list', () => {
  it('follows the selected section, or shows all', () => {
    expect(visibleFindings(ITEMS, NO_FILTERS, 's1').map((i) => i.id)).toEqual(['a', 'b']);
    expect(visibleFindings(ITEMS, NO_FILTERS, 's2')).toEqual([]);
    expect(visibleFindings(ITEMS, NO_FILTERS, null)).toHaveLength(4);
    expect(visibleFindings(ITEMS, { ...NO_FILTERS, status: 'pending' }, null).map((i) => i.id)).toEqual([
      'a',
      'c',
      'd',
    ]);
  });

  it('steps through findings and on into the next section that has some', () => {
    expect(stepFinding(ITEMS, NO_FILTERS, SECTIONS, 's1', null, 1)).toEqual({ id: 'a' });
    expect(stepFinding(ITEMS, NO_FILTERS, SECTIONS, 's1', 'a', 1)).toEqual({ id: 'b' });
    // Past the end of s1, over the empty s2, into s3.
    expect(stepFinding(ITEMS, NO_FILTERS, SECTIONS, 's1', 'b', 1)).toEqual({ id: 'c', sectionId: 's3' });
    expect(stepFinding(ITEMS, NO_FILTERS, SECTIONS, 's3', 'c', -1)).toEqual({ id: 'b', sectionId: 's1' });
    expect(stepFinding(ITEMS, NO_FILTERS, SECTIONS, 's3', 'd', 1)).toBeNull();
    // All sections: one list, no section change.
    expect(stepFinding(ITEMS, NO_FILTERS, SECTIONS, null, 'b', 1)).toEqual({ id: 'c' });
  });

  it('finds the next pending finding, wrapping around', () => {
    expect(nextPending(ITEMS, NO_FILTERS, 'a')?.id).toBe('c');
    expect(nextPending(ITEMS, NO_FILTERS, 'd')?.id).toBe('a');
    expect(nextPending([item('x', 's1', { status: 'accepted' })], NO_FILTERS, null)).toBeNull();
  });

  it('names the questions asked on many findings once', () => {
    const boiler = 'Can this be measured?';
    const items = [
      item('1', 's1', { questions: [boiler, 'Who owns it?'] }),
      item('2', 's1', { questions: [boiler] }),
      item('3', 's1', { questions: [boiler] }),
    ];
    expect([...commonQuestions(items)]).toEqual([boiler]);
    expect(commonQuestions(items.slice(0, 2)).size).toBe(0);
  });
});

describe('statistics', () => {
  it('counts a person’s Important item with the default risk under the risk its card shows', () => {
    // The server gives an Important item added without a risk "low" (core's newUserItem); the card says
    // "Low risk", and so must the statistics.
    const mine = item('p', 's1', { source: 'user', risk: 'low', status: 'accepted', confidence: 1 });
    const stats = findingStats([mine, ...ITEMS], SECTIONS);
    expect(countOf(stats.risk, 'Low risk')).toBe(1);
    expect(countOf(stats.risk, 'Medium risk')).toBe(4);
    expect(countOf(stats.type, 'Important')).toBe(5);
    expect(countOf(stats.decision, 'Accepted')).toBe(2);
    expect(stats.section.labels).toEqual(['s1', 's3']);
    // Colours are theme tokens, resolved per theme when drawn.
    expect(stats.risk.colors.every((c) => c.startsWith('--'))).toBe(true);
  });
});

describe('activity lines', () => {
  it('put a description in one pair of quote marks', () => {
    expect(quoted('Passive voice')).toBe('“Passive voice”');
    expect(quoted('“Passive voice”')).toBe('“Passive voice”');
    expect(quoted('"weasel words"')).toBe('“weasel words”');
    expect(quoted('“was caused” and “was deployed” are passive voice')).toBe(
      '“was caused” and “was deployed” are passive voice',
    );
    expect(quoted('Uses “TBD” twice')).toBe('“Uses “TBD” twice”');
  });
});
