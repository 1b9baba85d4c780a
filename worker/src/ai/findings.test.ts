import { describe, expect, it } from 'vitest';
import { FindingFilter, parseCrossFindingLine, parseFindingLine, repeatsRejected } from './findings.ts';
import type { Finding } from './provider.ts';

const SECTION = 'Actions\nWe will improve monitoring soon.\nThe team will review the change process.';

const finding = (over: Partial<Finding> = {}): Finding => ({
  type: 'important',
  category: 'Actions',
  description: 'The monitoring action has no owner and no due date.',
  questions: [],
  refs: [7],
  risk: 'medium',
  confidence: 0.9,
  quote: 'We will improve monitoring soon.',
  ...over,
});

describe('FindingFilter', () => {
  it('shows at most maxFindings, in the order they came', () => {
    const filter = new FindingFilter(SECTION, { maxFindings: 2 });
    const shown = ['one thing', 'another matter', 'third point'].map((d, i) =>
      filter.accept(finding({ description: d, quote: i === 2 ? 'review the change' : undefined })),
    );
    expect(shown.map((s) => s?.description)).toEqual(['one thing', 'another matter', undefined]);
    expect(filter.dropped.over_cap).toBe(1);
  });

  it('drops what repeats a rejected point: the same quote, or a near-identical description', () => {
    const rejected = [
      {
        description: 'The monitoring action has no owner and no due date.',
        quote: 'We will improve monitoring soon.',
      },
    ];
    const filter = new FindingFilter(SECTION, { rejected });
    expect(filter.accept(finding({ description: 'Nobody owns it.' }))).toBeUndefined();
    expect(
      filter.accept(
        finding({
          description: 'The monitoring action has no owner, and no due date either.',
          quote: 'review the change',
        }),
      ),
    ).toBeUndefined();
    expect(
      filter.accept(
        finding({ description: 'Say what the process review covers.', quote: 'review the change' }),
      ),
    ).toBeDefined();
    expect(filter.dropped.rejected_before).toBe(2);
  });

  it('keeps a replacement only with a verbatim quote it changes', () => {
    const filter = new FindingFilter(SECTION);
    expect(
      filter.accept(finding({ replacement: 'The SRE lead adds paging alerts by 1 May.' }))?.replacement,
    ).toBe('The SRE lead adds paging alerts by 1 May.');
    expect(
      filter.accept(
        finding({ description: 'Other', quote: 'Not in the section at all', replacement: 'x y z' }),
      )?.replacement,
    ).toBeUndefined();
  });
});

describe('repeatsRejected', () => {
  it('compares quotes with whitespace and case folded', () => {
    expect(
      repeatsRejected({ description: 'x', quote: 'we  will improve MONITORING soon.' }, [
        { description: 'y', quote: 'We will improve monitoring soon.' },
      ]),
    ).toBe(true);
    expect(
      repeatsRejected({ description: 'Different words entirely here' }, [
        { description: 'No overlap at all there' },
      ]),
    ).toBe(false);
  });
});

describe('parsing model lines', () => {
  it('reads a replacement, and a cross-section finding with its other place', () => {
    expect(parseFindingLine(JSON.stringify({ ...finding(), replacement: 'New text.' }))?.replacement).toBe(
      'New text.',
    );
    const cross = parseCrossFindingLine(
      JSON.stringify({ ...finding(), sectionId: 's1', otherSectionId: 's2', otherQuote: 'two hours' }),
    );
    expect(cross).toMatchObject({ sectionId: 's1', other: { sectionId: 's2', quote: 'two hours' } });
    expect(parseCrossFindingLine(JSON.stringify(finding()))).toBeUndefined();
  });
});
