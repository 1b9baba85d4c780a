import { describe, expect, it } from 'vitest';
import type { DocumentContext, DocumentSection } from '../provider.ts';
import { inconsistentQuantities, missingSections, requiredSections, undefinedAcronyms } from './document.ts';

let reviews = 0;
const section = (id: string, title: string, ...lines: string[]): DocumentSection => ({
  id,
  title,
  text: [title, ...lines].join('\n'),
});
/** A fresh review id each time: the document facts are cached per review. */
const documentOf = (sections: DocumentSection[], guidelines?: string): DocumentContext => ({
  reviewId: `r${++reviews}`,
  title: 'Report',
  sections,
  ...(guidelines ? { guidelines } : {}),
});

describe('inconsistentQuantities', () => {
  it('flags the same quantity stated with another value in a later section, citing Consistency', () => {
    const doc = documentOf([
      section('s1', 'Summary', 'The outage lasted 42 minutes and about 1,200 orders failed.'),
      section(
        's2',
        'Impact',
        'The outage lasted 47 minutes from the first alert to the last failed payment.',
      ),
    ]);
    expect(inconsistentQuantities(doc.sections[0]!, doc)).toEqual([]);
    const [finding] = inconsistentQuantities(doc.sections[1]!, doc);
    expect(finding).toMatchObject({
      category: 'Inconsistent figures',
      quote: 'outage lasted 47 minutes',
      refs: [10],
    });
    expect(finding!.description).toContain('“outage lasted 42 minutes”');
    expect(finding!.description).toContain('“Summary”');
  });

  it('compares a definite count ("the 40 probes") with the bare count elsewhere', () => {
    const doc = documentOf([
      section('s1', 'Methods', 'We installed 36 probes in three plots.'),
      section('s2', 'Results', 'Across the 40 probes, readings agreed within 1.5 points.'),
    ]);
    expect(inconsistentQuantities(doc.sections[1]!, doc).map((f) => f.quote)).toEqual(['the 40 probes']);
  });

  it('leaves alone the same values, different subjects, series and bare counts', () => {
    const doc = documentOf([
      section(
        's1',
        'Summary',
        'The outage lasted 42 minutes. Submit the report within 30 days. We hired 5 engineers.',
      ),
      section(
        's2',
        'Details',
        'The outage lasted 42 minutes. Pay the invoice within 60 days. We hired 7 engineers in 2023.',
        'Revenue grew 4% in 2023. Revenue grew 6% in 2024.',
      ),
      section('s3', 'Outlook', 'Revenue grew 5% over the period.'),
    ]);
    expect(inconsistentQuantities(doc.sections[1]!, doc)).toEqual([]);
    // "Revenue grew" is a series in "Details" (4 % and 6 %): 5 % elsewhere is no contradiction.
    expect(inconsistentQuantities(doc.sections[2]!, doc)).toEqual([]);
  });
});

describe('undefinedAcronyms', () => {
  it('flags acronyms never spelled out, once, in the section of first use', () => {
    const doc = documentOf([
      section(
        's1',
        'Summary',
        'The SLA was breached and the MTTD was long. Recovery Time Objective (RTO) was met.',
      ),
      section(
        's2',
        'Details',
        'MTTD rose again; the RTO and the CAB review are below. SLA (service level agreement) terms apply.',
      ),
    ]);
    const [first] = undefinedAcronyms(doc.sections[0]!, doc);
    expect(first).toMatchObject({ category: 'Undefined acronym', quote: 'MTTD', refs: [9], confidence: 1 });
    expect(first!.description).toBe('“MTTD” is used but never defined in the document.');
    const [second] = undefinedAcronyms(doc.sections[1]!, doc);
    expect(second!.quote).toBe('CAB');
  });

  it('leaves alone defined, well-known and shouted words', () => {
    const doc = documentOf([
      section(
        's1',
        'Glossary',
        'KPI: key performance indicator.',
        'The CEO and the EU office use PDF files over HTTPS.',
        'IMPORTANT NOTICE FOR ALL STAFF',
        'Dates are written YYYY-MM-DD.',
        'The Disaster Recovery Plan (DRP) covers it.',
      ),
      section('s2', 'Body', 'Each KPI is tracked in the DRP.'),
    ]);
    expect(undefinedAcronyms(doc.sections[0]!, doc)).toEqual([]);
    expect(undefinedAcronyms(doc.sections[1]!, doc)).toEqual([]);
  });

  it('quotes a two-letter acronym with the word next to it (the job ignores shorter quotes)', () => {
    const doc = documentOf([section('s1', 'Notes', 'The EC approved it.')]);
    expect(undefinedAcronyms(doc.sections[0]!, doc)[0]!.quote).toBe('EC approved');
  });

  it('lists several acronyms of one section in one finding', () => {
    const doc = documentOf([section('s1', 'Notes', 'The CAB met the PMO and the SRE lead.')]);
    const found = undefinedAcronyms(doc.sections[0]!, doc);
    expect(found).toHaveLength(1);
    expect(found[0]!.description).toBe('“CAB”, “PMO” and “SRE” are used but never defined in the document.');
  });
});

describe('required sections', () => {
  it('reads the names from a list, an inline list and a sentence', () => {
    expect(
      requiredSections(
        'Every report must include the following sections:\n- Summary\n- Root cause\n\nOther text',
      ),
    ).toEqual(['Summary', 'Root cause']);
    expect(requiredSections('Required sections: Executive summary, Budget, Risks and Next steps.')).toEqual([
      'Executive summary',
      'Budget',
      'Risks',
      'Next steps',
    ]);
    expect(requiredSections('The proposal must include a Success metrics section.')).toEqual([
      'Success metrics',
    ]);
    expect(requiredSections('Write plainly. Keep it short.')).toEqual([]);
  });

  it('flags, on the first section only, a required section the document lacks, citing Compliance', () => {
    const doc = documentOf(
      [
        section('s1', 'Executive summary', 'Text.'),
        section('s2', '2. Budget', 'Text.'),
        section('s3', 'Next steps', 'Text.'),
      ],
      'Required sections: Executive summary, Budget, Risks, Next step.',
    );
    const found = missingSections(doc.sections[0]!, doc);
    expect(found.map((f) => f.category)).toEqual(['Missing section']);
    expect(found[0]!.description).toContain('“Risks”');
    expect(found[0]!.refs).toContain(12);
    expect(found[0]!.quote).toBeUndefined();
    expect(missingSections(doc.sections[1]!, doc)).toEqual([]);
    expect(missingSections(doc.sections[0]!, documentOf(doc.sections))).toEqual([]);
  });
});
