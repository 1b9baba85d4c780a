import { describe, expect, it } from 'vitest';
import { DEFAULT_REVIEW_RUBRIC, type Rubric } from './checklist.ts';
import { checkpointNames } from './export.ts';

const RUBRIC: Rubric = {
  id: 'rb_1',
  name: 'Incident reports',
  version: 2,
  checkpoints: [
    { n: 1, title: 'Customer impact', description: '', required: true },
    { n: 2, title: 'Owners', description: '', required: true },
  ],
};

describe('checkpoint names in comments', () => {
  it("names a finding's checkpoints from the review's rubric", () => {
    expect(checkpointNames([2, 1], RUBRIC)).toBe('2 Owners; 1 Customer impact');
    expect(checkpointNames([3, 7], DEFAULT_REVIEW_RUBRIC)).toBe('3 Evidence; 7 Actions');
  });

  it('keeps the number of a checkpoint the rubric does not have', () => {
    expect(checkpointNames([1, 9], RUBRIC)).toBe('1 Customer impact; 9');
  });
});
