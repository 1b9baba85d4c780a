import { describe, expect, it } from 'vitest';
import { dateAt, datesIn } from './dates.ts';
import { detectLanguage, languageNote } from './language.ts';
import { bodyCells, opening, splitSentences } from './text.ts';

const texts = (text: string) => splitSentences(text).map((s) => s.text);

describe('splitSentences', () => {
  it('does not end a sentence at "vs.", "e.g.", "i.e.", "Fig.", "No.", "Dr.", "etc." or a decimal', () => {
    expect(
      texts(
        'Redis vs. Postgres was the question. We tried several, e.g. Redis, i.e. the cache. See Fig. 3 and No. 7 too. ' +
          'Dr. Lee measured 3.5 GHz, 2.75 V etc. and agreed. J. Smith disagreed.',
      ),
    ).toEqual([
      'Redis vs. Postgres was the question.',
      'We tried several, e.g. Redis, i.e. the cache.',
      'See Fig. 3 and No. 7 too.',
      'Dr. Lee measured 3.5 GHz, 2.75 V etc. and agreed.',
      'J. Smith disagreed.',
    ]);
  });

  it('ends sentences at full stops, question and exclamation marks, with offsets into the text', () => {
    const text = 'It failed. Why? Nobody knew! "Next," she said.';
    const sentences = splitSentences(text);
    expect(sentences.map((s) => s.text)).toEqual(['It failed.', 'Why?', 'Nobody knew!', '"Next," she said.']);
    for (const s of sentences) expect(text.slice(s.start, s.end)).toBe(s.text);
  });
});

describe('text helpers', () => {
  it('drops the heading line core repeats at the top of a section', () => {
    expect(bodyCells({ title: 'Summary', text: 'Summary\nBody\tcell' }).map((c) => c.text)).toEqual([
      'Body',
      'cell',
    ]);
    expect(bodyCells({ title: 'Summary', text: 'Other\nBody' }).map((c) => c.text)).toEqual([
      'Other',
      'Body',
    ]);
  });

  it('quotes the opening words of a sentence verbatim', () => {
    expect(opening('One, two; three four five six seven eight nine ten.', 4)).toBe('One, two; three four');
  });
});

describe('dates', () => {
  it('reads ISO, day-month, month-day and unambiguous numeric dates, with times', () => {
    const value = (text: string) => dateAt(text, 0)?.value;
    expect(value('2024-05-03 10:05')).toBe(value('3 May 2024 10:05'));
    expect(value('May 3, 2024')).toBe(value('2024-05-03'));
    expect(value('13/05/2024')).toBe(value('2024-05-13'));
    expect(dateAt('03/05/2024', 0)).toBeUndefined();
    expect(value('3 May 2024 2:10 pm')).toBe(value('2024-05-03 14:10'));
    expect(datesIn('From 1 March 2024 to April 2, 2024.').map((d) => d.text)).toEqual([
      '1 March 2024',
      'April 2, 2024',
    ]);
  });
});

describe('detectLanguage', () => {
  it('tells English from Russian, Spanish and Chinese, and names them in the note', () => {
    const english = detectLanguage(
      'The checkout service rejected card payments for forty minutes after an expired certificate broke the connection to the payment gateway, and support received many tickets.',
    );
    expect(english).toMatchObject({ code: 'eng', prose: true });
    expect(languageNote(english)).toBeUndefined();
    const russian = detectLanguage(
      'Исполнитель обязуется оказать Заказчику услуги по технической поддержке информационной системы, а Заказчик обязуется принять и оплатить эти услуги в порядке и сроки, установленные договором.',
    );
    expect(languageNote(russian)).toBe(
      'Prose checks cover English; this section is Russian: structural checks only.',
    );
    const spanish = detectLanguage(
      'La política de integración social establece los criterios para la asignación de viviendas y la coordinación entre los ministerios responsables de su aplicación en todo el país.',
    );
    expect(spanish).toMatchObject({ code: 'spa', name: 'Spanish', prose: false });
    expect(
      detectLanguage('该报告由团队撰写。也许缓存可能导致了速度变慢。我们为了利用备用容量而重新启动了节点。')
        .prose,
    ).toBe(false);
  });

  it('says nothing about text too short or too bare to tell', () => {
    expect(detectLanguage('List item 1\nList item 2\nList item 3')).toMatchObject({ prose: true });
    expect(detectLanguage('12 34 56')).toMatchObject({ prose: true });
    // A few Cyrillic words: not English, but not enough to name the language.
    expect(languageNote(detectLanguage('Подписание договора.'))).toBe(
      'Prose checks cover English; this section is not in English: structural checks only.',
    );
  });
});
