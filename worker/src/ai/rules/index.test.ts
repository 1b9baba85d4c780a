import { describe, expect, it } from 'vitest';
import { FindingFilter } from '../findings.ts';
import type {
  AnalysisRequest,
  AnalysisSink,
  ChatRequest,
  ChatSink,
  DocumentContext,
  Finding,
} from '../provider.ts';
import { checkSection, chunks, looksEnglish, MAX_FINDINGS, RulesProvider } from './index.ts';

const LONG_SENTENCE =
  'The incident response team gathered after the outage on the primary database cluster and reviewed every alert ' +
  'and every configuration change from the preceding week, and then it produced a long list of contributing ' +
  'factors, remediation ideas, open questions for the vendor, follow up tasks for the platform group, and notes ' +
  'for the next quarterly planning meeting with the wider engineering organisation.';

const SECTION_TEXT = [
  'The rollback plan was written in a hurry.',
  'Perhaps the cache might possibly have caused the slowdown.',
  'The new dashboard is very quite useful for the support desk.',
  'We went to the the data centre on Tuesday.',
  'We restarted the nodes in order to utilize the spare capacity.',
  LONG_SENTENCE,
  'Owner\tAction\tDue',
  'Alice\tRotate the certificates in order to avoid expiry\t2024-05-01',
].join('\n');

function doc(sections: { id: string; title: string; text: string }[]): DocumentContext {
  return { reviewId: 'r1', title: 'Incident report', sections };
}

function recordingSink() {
  const events: string[] = [];
  const findings: Finding[] = [];
  const sink: AnalysisSink = {
    async started(model) {
      events.push(`started:${model}`);
    },
    async finding(finding) {
      events.push('finding');
      findings.push(finding);
    },
    reasoning() {
      events.push('reasoning');
    },
  };
  return { sink, events, findings };
}

async function analyze(text: string, signal = new AbortController().signal) {
  const request: AnalysisRequest = {
    document: doc([
      { id: 's1', title: 'Intro', text: 'Nothing here.' },
      { id: 's2', title: 'Summary', text },
    ]),
    sectionId: 's2',
    thinking: false,
  };
  const recorded = recordingSink();
  const result = await new RulesProvider().analyze(request, recorded.sink, signal);
  return { ...recorded, result };
}

/** Where a finding's quote sits in the section: [line, column], or undefined. */
function locate(text: string, quote: string): [number, number] | undefined {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const column = lines[i]!.indexOf(quote);
    if (column !== -1) return [i, column];
  }
  return undefined;
}

describe('RulesProvider.analyze', () => {
  it('gives one finding per prose kind, quoting the first occurrence and naming the others', async () => {
    const { findings, events, result } = await analyze(SECTION_TEXT);
    const byCategory = (category: string) => findings.filter((f) => f.category === category);
    for (const category of [
      'Passive voice',
      'Hedging',
      'Weasel words',
      'Repeated word',
      'Wordiness',
      'Readability',
    ]) {
      expect(byCategory(category), category).toHaveLength(1);
    }
    expect(result).toEqual({
      model: 'rules',
      usage: { inputTokens: 0, outputTokens: 0 },
      stopReason: 'end_turn',
    });
    expect(events[0]).toBe('started:rules');
    expect(events.filter((e) => e.startsWith('started'))).toHaveLength(1);
    expect(events.slice(1).every((e) => e === 'finding')).toBe(true);

    expect(byCategory('Passive voice')[0]!.quote).toBe('was written');
    const hedge = byCategory('Hedging')[0]!;
    expect(hedge.quote).toBe('Perhaps');
    expect(hedge.description).toContain('“might” and “possibly”');
    const weasel = byCategory('Weasel words')[0]!;
    expect(weasel.quote).toBe('very');
    expect(weasel.description).toContain('“quite”');
    const repeated = byCategory('Repeated word')[0]!;
    expect(repeated).toMatchObject({ quote: 'the the', replacement: 'the' });
    const wordy = byCategory('Wordiness')[0]!;
    // The first "in order to" is in a paragraph; the table cell's is listed with "utilize".
    expect(wordy).toMatchObject({ quote: 'in order to', replacement: 'to' });
    expect(wordy.description).toContain('“utilize (use)”');
    const readability = byCategory('Readability')[0]!;
    expect(readability.description).toContain(`${LONG_SENTENCE.split(/\s+/).length}-word sentence`);
    expect(LONG_SENTENCE.startsWith(readability.quote!)).toBe(true);
    expect(readability.quote!.length).toBeLessThan(80);
  });

  it('quotes short, verbatim words of one line, with confidence 1, and passes the job filter untouched', async () => {
    const { findings } = await analyze(SECTION_TEXT);
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.length).toBeLessThanOrEqual(MAX_FINDINGS);
    const filter = new FindingFilter(SECTION_TEXT);
    for (const f of findings) {
      expect(locate(SECTION_TEXT, f.quote!), f.quote).toBeDefined();
      expect(f.quote!.length).toBeLessThanOrEqual(80);
      expect(f.confidence).toBe(1);
      expect(f.refs.length).toBeGreaterThan(0);
      expect(filter.accept(f), f.description).toEqual(f);
    }
    expect(new Set(findings.map((f) => f.description)).size).toBe(findings.length);
  });

  it('keeps quotes exactly as the job will show them, even at a quotation mark', async () => {
    const text = `"${LONG_SENTENCE}"`;
    const { findings } = await analyze(text);
    const readability = findings.find((f) => f.category === 'Readability')!;
    expect(readability.quote!.startsWith('The incident response team')).toBe(true);
    expect(new FindingFilter(text).accept(readability)).toEqual(readability);
  });

  it('makes sixteen passive sentences one finding, not sixteen', async () => {
    const text = Array.from({ length: 16 }, (_, i) => `Report ${i + 1} was reviewed on Monday.`).join('\n');
    const { findings } = await analyze(text);
    const passive = findings.filter((f) => f.category === 'Passive voice');
    expect(passive).toHaveLength(1);
    expect(passive[0]!.quote).toBe('was reviewed');
    expect(passive[0]!.description).toContain('(16 times in this section)');
  });

  it('puts structural findings first and keeps to the request cap', async () => {
    const text = ['Owner: TBD.', SECTION_TEXT].join('\n');
    const request: AnalysisRequest = {
      document: doc([{ id: 's1', title: 'Summary', text }]),
      sectionId: 's1',
      thinking: false,
      maxFindings: 3,
    };
    const recorded = recordingSink();
    await new RulesProvider().analyze(request, recorded.sink, new AbortController().signal);
    expect(recorded.findings).toHaveLength(3);
    expect(recorded.findings[0]).toMatchObject({ category: 'Placeholder', quote: 'TBD', type: 'important' });
  });

  it('says when the prose checks do not cover the language, and still runs the structural ones', async () => {
    const russian =
      'Исполнитель обязуется оказать Заказчику услуги по технической поддержке информационной системы, а Заказчик обязуется принять и оплатить эти услуги. Стоимость услуг составляет XXX рублей в месяц.';
    const { findings, result } = await analyze(russian);
    expect(result.note).toBe('Prose checks cover English; this section is Russian: structural checks only.');
    expect(findings.map((f) => f.category)).toEqual(['Placeholder']);
    expect((await analyze(SECTION_TEXT)).result.note).toBeUndefined();
  });

  it('gives no English checks to Chinese, Arabic or Russian text', async () => {
    const chinese = '该报告由团队撰写。也许缓存可能导致了速度变慢。我们为了利用备用容量而重新启动了节点。';
    const arabic = 'تمت كتابة التقرير من قبل الفريق. ربما تسببت ذاكرة التخزين المؤقت في البطء.';
    const russian = 'Отчёт был написан командой. Возможно, кэш вызвал замедление работы системы.';
    for (const text of [chinese, arabic, russian]) {
      expect(looksEnglish(text)).toBe(false);
      const { findings, result } = await analyze(text);
      expect(findings).toEqual([]);
      expect(result.note).toMatch(/^Prose checks cover English; this section is/);
    }
    // A Chinese line inside an English section is skipped; the English lines are still checked.
    const { findings } = await analyze(`${chinese}\nWe went to the the shop with the whole team.`);
    expect(findings.map((f) => f.category)).toEqual(['Repeated word']);
  });

  it('gives no prose checks to Latin-script text in another language', async () => {
    const french =
      'Le rapport a été rédigé par l’équipe de la plateforme, puis la base de données principale a été redémarrée pendant la nuit.';
    expect(looksEnglish(french)).toBe(false);
    expect((await analyze(french)).findings).toEqual([]);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    const events: string[] = [];
    const sink: AnalysisSink = {
      async started() {
        events.push('started');
      },
      async finding() {
        events.push('finding');
        controller.abort(reason);
      },
      reasoning() {},
    };
    const request: AnalysisRequest = {
      document: doc([{ id: 's1', title: 'Summary', text: SECTION_TEXT }]),
      sectionId: 's1',
      thinking: false,
    };
    await expect(new RulesProvider().analyze(request, sink, controller.signal)).rejects.toBe(reason);
    expect(events).toEqual(['started', 'finding']);

    const aborted = new AbortController();
    aborted.abort(reason);
    await expect(new RulesProvider().analyze(request, sink, aborted.signal)).rejects.toBe(reason);
  });

  it('refuses a section that does not exist', async () => {
    const request: AnalysisRequest = { document: doc([]), sectionId: 's9', thinking: false };
    await expect(
      new RulesProvider().analyze(request, recordingSink().sink, new AbortController().signal),
    ).rejects.toMatchObject({ code: 'not_found' });
  });

  it('checks a 5,000-word section quickly', async () => {
    const paragraphs = [
      'The service was restarted by the on-call engineer after the alert fired at 02:14.',
      'Perhaps the new cache configuration might have contributed to the very high latency.',
      'In order to utilize the spare capacity, the team moved several batch jobs to the secondary cluster.',
      'Customers in the EU region saw errors for about forty minutes, and many of them opened tickets.',
      LONG_SENTENCE,
    ];
    const lines: string[] = [];
    let words = 0;
    for (let i = 0; words < 5000; i++) {
      const line = paragraphs[i % paragraphs.length]!;
      lines.push(line);
      words += line.split(/\s+/).length;
    }
    const text = lines.join('\n');
    const started = performance.now();
    const { findings } = await analyze(text);
    const elapsed = performance.now() - started;
    console.log(
      `rules: ${words}-word section checked in ${elapsed.toFixed(0)} ms, ${findings.length} findings`,
    );
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.length).toBeLessThanOrEqual(MAX_FINDINGS);
  });

  it('checks a section alone when given no document', () => {
    const { findings, language } = checkSection({
      id: 's1',
      title: 'Notes',
      text: 'Notes\nWe went to the the shop today.',
    });
    expect(language.code).toBe('eng');
    expect(findings.map((f) => f.category)).toEqual(['Repeated word']);
  });

  it('describes itself', () => {
    const provider = new RulesProvider();
    expect(provider.name).toBe('rules');
    expect(provider.describe()).toEqual({ provider: 'rules' });
  });
});

describe('RulesProvider.chat', () => {
  const document = doc([
    {
      id: 's1',
      title: 'Summary',
      text: 'On 3 May the checkout service was unavailable for 42 minutes.\nAbout 1,200 orders failed.',
    },
    {
      id: 's2',
      title: 'Root cause',
      text: 'An expired TLS certificate on the internal load balancer rejected every connection.',
    },
    { id: 's3', title: 'Actions', text: 'Owner\tAction\nAlice\tAutomate certificate renewal by June.' },
  ]);

  async function ask(text: string, signal = new AbortController().signal) {
    const deltas: string[] = [];
    const events: string[] = [];
    const sink: ChatSink = {
      text(delta) {
        events.push('text');
        deltas.push(delta);
      },
      async started(model) {
        events.push(`started:${model}`);
      },
    };
    const request: ChatRequest = {
      document,
      history: [],
      question: { role: 'user', author: 'Dana', text },
      sectionId: 's1',
    };
    const result = await new RulesProvider().chat(request, sink, signal);
    return { result, deltas, events };
  }

  it('answers with the passage that matches, cites its section and says no model is configured', async () => {
    const { result, deltas, events } = await ask('Which certificate expired?');
    expect(result.model).toBe('rules');
    expect(result.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
    expect(result.stopReason).toBe('end_turn');
    expect(result.text).toMatch(/^No AI model is configured on this Prism/);
    expect(result.text).toContain(
      '“An expired TLS certificate on the internal load balancer rejected every connection.”',
    );
    expect(result.text).toContain('[s2]');
    expect(result.citations?.[0]).toBe('s2');
    // Cited sections are the ones the text cites, in order.
    const cited = [...result.text.matchAll(/\[(s\d+)\]/g)].map((m) => m[1]);
    expect(result.citations).toEqual([...new Set(cited)]);
    expect(deltas.join('')).toBe(result.text);
    expect(deltas.length).toBeGreaterThan(3);
    expect(events[0]).toBe('started:rules');
    expect(events.filter((e) => e.startsWith('started'))).toHaveLength(1);
  });

  it('finds table cells and cites their section', async () => {
    const { result } = await ask('who owns the renewal automation?');
    expect(result.text).toContain('Automate certificate renewal by June.');
    expect(result.citations).toContain('s3');
  });

  it('says so when nothing matches', async () => {
    const { result, deltas } = await ask('What about the marketing budget?');
    expect(result.text).toMatch(/^No AI model is configured on this Prism/);
    expect(result.text).toContain('no passage matches');
    expect(result.citations).toEqual([]);
    expect(deltas.join('')).toBe(result.text);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(ask('Which certificate expired?', controller.signal)).rejects.toThrow('gone');
  });
});

describe('chunks', () => {
  it('splits into a few words each and joins back exactly', () => {
    const text = 'One two three four five six seven.\n\n1. “Quote” [s1]: more  text here ';
    const pieces = chunks(text, 3);
    expect(pieces.join('')).toBe(text);
    expect(pieces.length).toBeGreaterThan(3);
  });
});
