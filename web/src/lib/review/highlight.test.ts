import { describe, expect, it } from 'vitest';
import { flaggedWords } from './highlight.ts';

describe('flaggedWords', () => {
  it('names the quoted words of a description that are in the quote', () => {
    const quote = 'The outage was caused by a configuration change that was deployed without review.';
    expect(
      flaggedWords('“was caused” and “was deployed” are passive voice, so the sentence…', quote),
    ).toEqual(['was caused', 'was deployed']);
    expect(
      flaggedWords('“seems” and "perhaps" hedge this statement', 'It seems that perhaps it works.'),
    ).toEqual(['seems', 'perhaps']);
  });

  it('keeps the longer of two nested words, and nothing that is not in the quote', () => {
    const quote = 'It seems that the impact was large, and the the team was unaware.';
    expect(flaggedWords('“the” appears twice in a row (“the the”).', quote)).toEqual(['the the']);
    expect(flaggedWords('Wordy: “In order to” can be “To”.', 'We met. Nothing else.')).toEqual([]);
    expect(flaggedWords('No quoted words here.', quote)).toEqual([]);
  });
});
