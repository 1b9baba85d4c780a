import type { Rubric } from '@prism/core';
import { describe, expect, it } from 'vitest';
import { crossCheckPrompt, DEFAULT_RUBRIC, systemPrompt } from './prompts.ts';
import type { DocumentContext } from './provider.ts';
import { rubricRefs } from './rubric-refs.ts';

const DOCUMENT: DocumentContext = {
  reviewId: 'r_1',
  title: 'Outage report',
  sections: [{ id: 's1', title: 'Summary', text: 'The service was down for four hours.' }],
};

const RUBRIC: Rubric = {
  id: 'rb_1',
  name: 'Incident reports',
  version: 2,
  checkpoints: [
    { n: 1, title: 'Customer impact', description: 'Says how many customers were affected.', required: true },
    { n: 2, title: 'Glossary', description: 'Terms are defined.', required: false },
  ],
};

describe('the cached prefix carries the review rubric', () => {
  it('lists the review rubric checkpoints by number instead of the default', () => {
    const prompt = systemPrompt({ ...DOCUMENT, rubric: RUBRIC });
    expect(prompt).toContain(
      'Rubric (cite checkpoints by number):\n1. Customer impact: Says how many customers were affected.\n2. Glossary: Terms are defined. (optional)\n\n<document',
    );
    expect(prompt).not.toContain(DEFAULT_RUBRIC[0]);
  });

  it('is the default rubric, byte for byte, without one or with the default', () => {
    const plain = systemPrompt(DOCUMENT);
    expect(plain).toContain(`1. ${DEFAULT_RUBRIC[0]}\n2. ${DEFAULT_RUBRIC[1]}`);
    expect(systemPrompt({ ...DOCUMENT, rubric: { ...RUBRIC, id: 'default' } })).toBe(plain);
  });

  it("whole-document findings cite the rubric's consistency checkpoint, or none", () => {
    const options = { maxFindings: 5, decided: [] };
    expect(crossCheckPrompt(DOCUMENT, options)).toContain('"refs":[10]');
    expect(crossCheckPrompt({ ...DOCUMENT, rubric: RUBRIC }, options)).toContain('"refs":[]');
    const withConsistency: Rubric = {
      ...RUBRIC,
      checkpoints: [
        ...RUBRIC.checkpoints,
        { n: 3, title: 'Consistent figures', description: '', required: true },
      ],
    };
    expect(crossCheckPrompt({ ...DOCUMENT, rubric: withConsistency }, options)).toContain('"refs":[3]');
  });
});

describe("a finding's refs under the review's rubric", () => {
  it('keeps a model ref the rubric has, drops the others, and every rules ref', () => {
    expect(rubricRefs([1, 7], RUBRIC, 'ai')).toEqual([1]);
    expect(rubricRefs([2], RUBRIC, 'rules')).toEqual([]);
    expect(rubricRefs([9, 11], undefined, 'rules')).toEqual([9, 11]);
  });
});
