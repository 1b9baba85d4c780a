import { DEFAULT_REVIEW_RUBRIC } from '@prism/core';
import { describe, expect, it } from 'vitest';
import { checklistPrompt, parseChecklistAnswer } from './checklist.ts';
import { rulesChecklist } from './checklist-rules.ts';
import type { DocumentContext } from './provider.ts';

const document: DocumentContext = {
  reviewId: 'r1',
  title: 'Outage report',
  sections: [
    {
      id: 's1',
      title: 'Summary',
      text: 'The payment service was unavailable for four hours on 3 March.\nCustomers could not complete checkout.',
    },
    { id: 's2', title: 'Actions', text: 'We will improve monitoring soon.\tTBD' },
  ],
};

const line = (value: unknown) => JSON.stringify(value);

describe('the checklist answer parser', () => {
  it('keeps verbatim evidence and drops invented quotes, wrong sections and unknown checkpoints', () => {
    const answer = [
      'Here are the verdicts:',
      line({
        n: 1,
        verdict: 'pass',
        explanation: 'The summary states the outage and its impact.',
        evidence: [
          { sectionId: 's1', quote: 'unavailable for   four hours on 3 March' },
          { sectionId: 's1', quote: 'All stakeholders signed off on the plan.' },
          { sectionId: 's2', quote: 'Customers could not complete checkout.' },
          { sectionId: 's9', quote: 'The payment service' },
        ],
      }),
      line({
        n: 7,
        verdict: 'FAIL',
        explanation: 'No owner.',
        evidence: [{ sectionId: 's2', quote: '"We will improve monitoring soon."' }],
      }),
      line({ n: 7, verdict: 'pass', explanation: 'A second line for 7 is ignored.' }),
      line({ n: 40, verdict: 'pass', explanation: 'Not a checkpoint.' }),
      line({ n: 3, verdict: 'maybe', explanation: 'Not a verdict.' }),
      '{"n": 5, "verdict": "partial", "explanation": "cut',
    ].join('\n');
    const entries = parseChecklistAnswer(answer, DEFAULT_REVIEW_RUBRIC, document, 'model-x');
    expect(entries).toHaveLength(12);
    expect(entries[0]).toEqual({
      n: 1,
      verdict: 'pass',
      explanation: 'The summary states the outage and its impact.',
      evidence: [{ sectionId: 's1', quote: 'unavailable for four hours on 3 March' }],
      source: 'ai',
      model: 'model-x',
    });
    expect(entries[6]).toMatchObject({
      verdict: 'fail',
      explanation: 'No owner.',
      evidence: [{ sectionId: 's2', quote: 'We will improve monitoring soon.' }],
    });
    // Not judged (a bad verdict, a cut line, left out): na, saying so.
    for (const n of [3, 5, 12]) {
      expect(entries[n - 1]).toMatchObject({ n, verdict: 'na', evidence: [] });
      expect(entries[n - 1]!.explanation).toMatch(/no verdict/);
    }
  });

  it('the prompt names every checkpoint and the sections, and asks for JSON Lines', () => {
    const prompt = checklistPrompt(document, DEFAULT_REVIEW_RUBRIC);
    expect(prompt.startsWith('<checklist>')).toBe(true);
    for (const c of DEFAULT_REVIEW_RUBRIC.checkpoints) expect(prompt).toContain(`${c.n}. ${c.title}: `);
    expect(prompt).toContain('[s2] Actions');
    expect(prompt).toContain('JSON Lines');
  });
});

describe('the rules checklist', () => {
  it('judges what its checks can, from the document, and labels the rest as needing a model', () => {
    const entries = rulesChecklist(document, DEFAULT_REVIEW_RUBRIC);
    const byN = new Map(entries.map((e) => [e.n, e]));
    expect(entries.every((e) => e.source === 'rules')).toBe(true);
    // An action without owner or due date in the Actions section, with its words as evidence.
    expect(byN.get(7)).toMatchObject({ verdict: 'fail' });
    expect(byN.get(7)!.evidence[0]).toEqual({ sectionId: 's2', quote: 'We will improve monitoring soon.' });
    // A placeholder.
    expect(byN.get(11)).toMatchObject({ verdict: 'fail', evidence: [{ sectionId: 's2', quote: 'TBD' }] });
    expect(byN.get(10)).toMatchObject({ verdict: 'pass' });
    expect(byN.get(12)).toMatchObject({ verdict: 'na' });
    expect(byN.get(12)!.needsModel).toBeUndefined();
    for (const n of [1, 2, 3, 4, 5, 8]) {
      expect(byN.get(n)).toMatchObject({ verdict: 'na', needsModel: true });
      expect(byN.get(n)!.explanation).toMatch(/^Needs a model/);
    }
  });

  it('is deterministic, and passes what is right', () => {
    const good: DocumentContext = {
      ...document,
      guidelines: 'Required sections: Summary.',
      sections: [
        document.sections[0]!,
        { id: 's2', title: 'Actions', text: 'Ann Lee will add an alert on the pool by 14 March 2026.' },
      ],
    };
    const first = rulesChecklist(good, DEFAULT_REVIEW_RUBRIC);
    expect(rulesChecklist(good, DEFAULT_REVIEW_RUBRIC)).toEqual(first);
    const byN = new Map(first.map((e) => [e.n, e]));
    expect(byN.get(7)?.verdict).toBe('pass');
    expect(byN.get(11)?.verdict).toBe('pass');
    expect(byN.get(6)?.verdict).toBe('pass');
  });

  it('another rubric is all "needs a model"', () => {
    const rubric = {
      ...DEFAULT_REVIEW_RUBRIC,
      id: 'w1',
      checkpoints: DEFAULT_REVIEW_RUBRIC.checkpoints.slice(0, 2),
    };
    expect(rulesChecklist(document, rubric).map((e) => e.needsModel)).toEqual([true, true]);
  });
});
