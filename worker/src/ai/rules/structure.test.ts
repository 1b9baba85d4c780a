import { describe, expect, it } from 'vitest';
import type { DocumentSection } from '../provider.ts';
import { actions, brokenWords, emptySection, PER_KIND, placeholders, timeline } from './structure.ts';
import { cellsOf } from './text.ts';

const cells = (...lines: string[]) => cellsOf(lines.join('\n'));
const quotes = (findings: { quote?: string }[]) => findings.map((f) => f.quote);
const section = (id: string, title: string, ...lines: string[]): DocumentSection => ({
  id,
  title,
  text: [title, ...lines].join('\n'),
});

describe('placeholders', () => {
  it('finds TBD, TODO, XXX, [insert ...], ??? and Lorem ipsum, citing Structure', () => {
    const found = placeholders(
      cells(
        'Revenue impact: TBD.',
        'TODO add the graph. Budget: XXX euros.',
        'See [insert link to the dashboard] and ???',
        'Lorem ipsum dolor sit amet.',
      ),
    );
    expect(quotes(found)).toEqual(['TBD', 'TODO', 'XXX', '[insert link to the dashboard]', '???']);
    expect(found).toHaveLength(PER_KIND);
    expect(found[PER_KIND - 1]!.description).toContain('and 1 more like it');
    expect(found.every((f) => f.refs.includes(11) && f.confidence === 1 && f.type === 'important')).toBe(
      true,
    );
  });

  it('leaves words that only look like markers alone', () => {
    const found = placeholders(
      cells(
        'The todo list app ships in May; tbd is not shouted here.',
        'Is this right? Really?',
        'Insert the card [see figure 2] into the reader.',
        'XXL sizes sell out first.',
      ),
    );
    expect(found).toEqual([]);
  });
});

describe('actions', () => {
  const actionSection = (...lines: string[]) => section('s5', 'Actions', ...lines);

  it('flags an action without an owner, or without a due date, citing Actions', () => {
    const s = actionSection(
      'Automate certificate renewal for every load balancer.',
      'Add a TLS handshake check to the monitor (Security team).',
    );
    const found = actions(s, cellsOf(s.text).slice(1));
    expect(found.map((f) => [f.category, f.quote])).toEqual([
      ['Action without owner', 'Automate certificate renewal for every load balancer.'],
      ['Action without due date', 'Add a TLS handshake check to the monitor (Security team).'],
    ]);
    expect(found[0]!.description).toContain('no owner and no due date');
    expect(found.every((f) => f.refs.includes(7))).toBe(true);
  });

  it('accepts actions with an owner and a date, in the line or in the table cells after it', () => {
    const s = actionSection(
      'The following actions were agreed:',
      'Alice to rotate the certificates by 2024-05-01.',
      'Add an alert on replication lag — Bob, by 14 June.',
      'Move reminders to the shared calendar',
      'Dana',
      '2024-05-20',
      'Review the other certificates (Security team, Q3).',
    );
    expect(quotes(actions(s, cellsOf(s.text).slice(1)))).toEqual([]);
  });

  it('reads "Action:" lines anywhere, and only action sections line by line', () => {
    const notes = section(
      's2',
      'Root cause',
      'The certificate expired because nobody renewed it.',
      'Action: renew it.',
    );
    expect(quotes(actions(notes, cellsOf(notes.text).slice(1)))).toEqual(['Action: renew it.']);
    const handbook = section(
      's3',
      '2. Remedial and enforcement actions',
      'The trustee may issue a notice of deficiency.',
    );
    expect(actions(handbook, cellsOf(handbook.text).slice(1))).toEqual([]);
  });
});

describe('timeline', () => {
  it('flags a date earlier than the one before it, citing Timeline', () => {
    const found = timeline(
      cells(
        '2024-05-03 10:05 First errors in the gateway logs.',
        '2024-05-03 10:09 The alert pages the on-call engineer.',
        '2024-05-03 10:31 The expired certificate is found.',
        '2024-05-03 10:18 The incident channel opens.',
        '2024-05-03 10:47 Payments succeed again.',
      ),
    );
    expect(quotes(found)).toEqual(['2024-05-03 10:18']);
    expect(found[0]!.refs).toEqual([6]);
    expect(found[0]!.description).toContain('“2024-05-03 10:31”');
  });

  it('reads day-month dates, times under a date, and crossing midnight', () => {
    const found = timeline(
      cells('3 May 2024', '23:40 Deploy starts.', '23:55 Errors.', '00:10 Rollback.', '00:05 Resolved.'),
    );
    expect(quotes(found)).toEqual(['00:05']);
  });

  it('accepts a timeline in order, and one that runs backwards throughout (a changelog)', () => {
    expect(
      timeline(cells('1 March 2024 Kick-off.', '15 March 2024 Design review.', 'April 2, 2024 Pilot.')),
    ).toEqual([]);
    expect(
      timeline(cells('2024-06-01 Version 3.', '2024-03-01 Version 2.', '2023-11-20 Version 1.')),
    ).toEqual([]);
    // Dates inside sentences are not a timeline.
    expect(
      timeline(cells('We met on 3 May 2024.', 'The pilot ran from 1 March 2024.', 'Review on 2 April 2024.')),
    ).toEqual([]);
  });

  it('reads the sentences of a section titled as a timeline, two dates being enough', () => {
    const story = cells(
      'On 12 March 2026 at 14:05 the change was merged. On 11 March 2026 at 09:00 the alert fired.',
      'The incident was detected by a customer.',
    );
    expect(quotes(timeline(story, 'Timeline'))).toEqual(['11 March 2026 at 09:00']);
    expect(quotes(timeline(story, 'Chronology of the outage'))).toEqual(['11 March 2026 at 09:00']);
    // The same sentences elsewhere are prose, not a timeline.
    expect(timeline(story, 'Background')).toEqual([]);
    // In order, nothing to say.
    expect(
      timeline(cells('On 1 May 2024 the pilot began. On 9 May 2024 it ended.'), 'Sequence of events'),
    ).toEqual([]);
  });
});

describe('brokenWords', () => {
  it('flags a word broken by a hyphen and a space, with the joined word as its replacement', () => {
    const found = brokenWords(cells('The samples were mea- sured twice and ana- lyzed per soil.'));
    expect(found.map((f) => [f.quote, f.replacement])).toEqual([
      ['mea- sured', 'measured'],
      ['ana- lyzed', 'analyzed'],
    ]);
    expect(found[0]!.refs).toEqual([9]);
  });

  it('leaves suspended hyphens and dashes alone, and gives no replacement where a compound may be meant', () => {
    expect(
      brokenWords(cells('Pre- and post-deployment checks; short- or long-term plans; a pause - then more.')),
    ).toEqual([]);
    const [well] = brokenWords(cells('It is a well- known problem.'));
    expect(well!.quote).toBe('well- known');
    expect(well!.replacement).toBeUndefined();
  });
});

describe('emptySection', () => {
  const doc = [
    section('s1', 'Incident report', 'Written by the platform team on 4 May.'),
    section('s2', '1. Summary', 'The checkout service rejected card payments for 42 minutes on 3 May.'),
    section('s3', '2. Lessons learned'),
    section('s4', '3. Background'),
    section(
      's5',
      '3.1 Architecture',
      'The gateway talks to the card processor over mutual TLS through two load balancers.',
    ),
    section('s6', '4. Appendix', 'See the wiki.'),
  ];

  it('flags a heading with nothing under it, and one with next to nothing, citing Structure', () => {
    const [empty] = emptySection(doc[2]!, doc);
    expect(empty).toMatchObject({ category: 'Empty section', quote: '2. Lessons learned', refs: [11] });
    const [near] = emptySection(doc[5]!, doc);
    expect(near).toMatchObject({ quote: 'See the wiki.' });
    expect(near!.description).toContain('3 words');
  });

  it('leaves alone a heading that introduces sub-sections, and sections with text', () => {
    expect(emptySection(doc[3]!, doc)).toEqual([]);
    expect(emptySection(doc[1]!, doc)).toEqual([]);
    expect(emptySection(doc[0]!, [doc[0]!])).toEqual([]);
    // "None" answers deliberately; "Chapter 1" introduces its lettered sections.
    const none = [
      section('n1', 'Intro', 'Some text here to start with.'),
      section('n2', '3. Definitions', 'None'),
      section('n3', '4. Scope', 'Everything the team runs in production, every day.'),
    ];
    expect(emptySection(none[1]!, none)).toEqual([]);
    const chapters = [
      section('c0', 'Preface', 'Some text here to start with.'),
      section('c1', 'CHAPTER 1 – INTRODUCTION'),
      section('c2', 'A. PURPOSE', 'The handbook sets out the duties of every trustee.'),
    ];
    expect(emptySection(chapters[1]!, chapters)).toEqual([]);
    // "B." then "1.": a lettered part introducing numbered sections.
    const parts = [
      section('p1', 'B. Issues'),
      section('p2', '1. Security', 'Spam and fraud rose in every region last year.'),
    ];
    expect(
      emptySection(parts[0]!, [section('p0', 'Intro', 'Some text here to start with.'), ...parts]),
    ).toEqual([]);
  });
});
