import { describe, expect, it } from 'vitest';
import { proseHits } from './prose.ts';
import { cellsOf } from './text.ts';
import { proseFindings } from './wording.ts';

const check = (...lines: string[]) => proseFindings(cellsOf(lines.join('\n')).flatMap(proseHits));
const categories = (...lines: string[]) => check(...lines).map((f) => f.category);
const finding = (category: string, ...lines: string[]) =>
  check(...lines).find((f) => f.category === category);

describe('passive voice', () => {
  it('flags an actorless passive with its "be" verb, regular or irregular, quoting the verb phrase', () => {
    expect(finding('Passive voice', 'The rollback plan was written last night.')?.quote).toBe('was written');
    expect(finding('Passive voice', 'The patch was not reviewed before the release.')?.quote).toBe(
      'was not reviewed',
    );
    // "by Friday" is a deadline, not an actor.
    expect(finding('Passive voice', 'The fix was deployed by Friday at the latest.')?.quote).toBe(
      'was deployed',
    );
  });

  it('does not flag a passive that names its actor', () => {
    expect(categories('The rollback plan was written by the platform team.')).not.toContain('Passive voice');
    expect(finding('Passive voice', 'The server was restarted during the night.')?.quote).toBe(
      'was restarted',
    );
  });

  it('does not flag states: "are finished writing", "is married", "are interested", "is done"', () => {
    expect(
      categories(
        'When you are finished writing, send the draft to the editor.',
        'She is married to the head of the finance team.',
        'We are interested in the second option for the rollout.',
        'The migration is done and the old cluster is gone now.',
        'The service is based on the open source gateway.',
      ),
    ).not.toContain('Passive voice');
  });
});

describe('grouping', () => {
  it('makes one finding per kind per section, quoting the first occurrence and listing the others', () => {
    const lines = Array.from(
      { length: 16 },
      (_, i) => `Invoice ${i + 1} was sent late and was paid in ${i + 2} weeks.`,
    );
    const passive = check(...lines).filter((f) => f.category === 'Passive voice');
    expect(passive).toHaveLength(1);
    expect(passive[0]!.quote).toBe('was sent');
    // Repeats are named once; the description stays short.
    expect(passive[0]!.description).toBe(
      '“was sent” is passive voice and does not say who acted; so are “was paid” (32 in this section).',
    );
    const hedges = finding(
      'Hedging',
      'The cache might be cold.',
      'Perhaps the disk is slow.',
      'It probably failed on Monday.',
    );
    expect(hedges!.quote).toBe('might');
    expect(hedges!.description).toContain('“Perhaps” and “probably”');
  });

  it('gives rules findings confidence 1 and the Clarity checkpoint', () => {
    for (const f of check(
      'The plan was written in haste and it is very very long in order to cover everything.',
    )) {
      expect(f.confidence).toBe(1);
      expect(f.refs).toContain(9);
      expect(f.risk).toBe('low');
    }
  });
});

describe('replacements', () => {
  it('rewrites only what is grammatical by construction: a repeated word, a safe swap', () => {
    expect(finding('Repeated word', 'We went to the the data centre on Tuesday.')).toMatchObject({
      quote: 'the the',
      replacement: 'the',
    });
    expect(finding('Wordiness', 'We restarted the nodes in order to free capacity.')).toMatchObject({
      quote: 'in order to',
      replacement: 'to',
    });
    expect(finding('Wordiness', 'Prior to the release we froze the branch.')).toMatchObject({
      quote: 'Prior to',
      replacement: 'Before',
    });
  });

  it('gives no rewrite where a swap could break the sentence', () => {
    const wordy = finding(
      'Wordiness',
      'We will endeavor to finish the migration and we will attempt a rollback.',
    );
    expect(wordy).toBeDefined();
    expect(wordy!.replacement).toBeUndefined();
    expect(wordy!.example).toBeUndefined();
    for (const f of check('The value lies in researching the market before the launch of the product.')) {
      expect(f.replacement ?? '', f.description).not.toMatch(/lies researching/);
    }
  });
});

describe('repeated words', () => {
  it('does not flag codes and values in tables ("NA NA", "11 11") or grammatical doubles', () => {
    expect(
      categories('NA NA NA NA', 'Status\tNA NA\t11 11', 'He said that that plan had had its day.'),
    ).not.toContain('Repeated word');
  });
});

describe('long sentences', () => {
  it('flags a sentence from 35 words, quoting its opening words only', () => {
    const sentence = `The team ${Array.from({ length: 19 }, (_, i) => `checked node ${i + 1}`).join(' and ')}.`;
    const long = finding('Readability', `The summary is short. ${sentence}`);
    expect(long!.quote).toBe('The team checked node 1 and checked node');
    expect(long!.description).toContain('77-word sentence');
  });

  it('counts a sentence with "vs." and "e.g." as one sentence, not three', () => {
    const text =
      'We compared the probes vs. the reference in the field, e.g. in sand, and they agreed within two points over twelve weeks.';
    const hits = cellsOf(text).flatMap(proseHits);
    expect(hits.filter((h) => h.kind === 'Long sentence')).toEqual([]);
  });
});
