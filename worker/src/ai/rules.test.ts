import { describe, expect, it } from 'vitest';
import { FindingFilter } from './findings.ts';
import type {
  AnalysisRequest,
  AnalysisSink,
  ChatRequest,
  ChatSink,
  DocumentContext,
  Finding,
} from './provider.ts';
import { chunks, looksEnglish, MAX_FINDINGS, RulesProvider } from './rules.ts';

const LONG_SENTENCE =
  'The incident response team gathered after the outage on the primary database cluster and reviewed every alert ' +
  'and every configuration change from the preceding week, and then it produced a long list of contributing ' +
  'factors, remediation ideas, open questions for the vendor, follow up tasks for the platform group, and notes ' +
  'for the next quarterly planning meeting with the wider engineering organisation.';

const SECTION_TEXT = [
  'The rollback plan was written by the platform team.',
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
  it('flags passive voice, hedges, weasel words, repeated words, wordiness and long sentences', async () => {
    const { findings, events, result } = await analyze(SECTION_TEXT);
    const categories = new Set(findings.map((f) => f.category));
    for (const category of [
      'Passive voice',
      'Hedging',
      'Weasel words',
      'Repeated word',
      'Wordiness',
      'Readability',
    ]) {
      expect(categories, category).toContain(category);
    }
    expect(result).toEqual({
      model: 'rules',
      usage: { inputTokens: 0, outputTokens: 0 },
      stopReason: 'end_turn',
    });
    expect(events[0]).toBe('started:rules');
    expect(events.filter((e) => e.startsWith('started'))).toHaveLength(1);
    expect(events.slice(1).every((e) => e === 'finding')).toBe(true);

    const byCategory = (category: string) => findings.filter((f) => f.category === category);
    expect(byCategory('Passive voice')[0]!.description).toContain('“was written”');
    expect(byCategory('Passive voice')[0]!.description).toContain('“the platform team”');
    const hedge = byCategory('Hedging')[0]!;
    for (const word of ['“Perhaps”', '“might”', '“possibly”']) expect(hedge.description).toContain(word);
    const weasel = byCategory('Weasel words')[0]!;
    expect(weasel.description).toContain('“very”');
    expect(weasel.description).toContain('“quite”');
    const repeated = byCategory('Repeated word')[0]!;
    expect(repeated.description).toContain('“the the”');
    expect(repeated.example).toBe('We went to the data centre on Tuesday.');
    const wordy = byCategory('Wordiness').find((f) => f.description.includes('“utilize”'))!;
    expect(wordy.description).toContain('“in order to” can be “to”');
    expect(wordy.description).toContain('“utilize” can be “use”');
    expect(wordy.example).toBe('We restarted the nodes to use the spare capacity.');
    const readability = byCategory('Readability')[0]!;
    const words = LONG_SENTENCE.split(/\s+/).length;
    expect(readability.description).toContain(`${words}`);
    expect(readability.type).toBe('important');
    expect(readability.risk).toBe('medium');
    expect(readability.quote).toBe(LONG_SENTENCE);

    // The table cell is quoted on its own, not with its row.
    expect(findings.some((f) => f.quote === 'Rotate the certificates in order to avoid expiry')).toBe(true);
  });

  it('quotes verbatim from one line, in document order, with distinct descriptions within the caps', async () => {
    const { findings } = await analyze(SECTION_TEXT);
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.length).toBeLessThanOrEqual(MAX_FINDINGS);
    const positions = findings.map((f) => {
      expect(f.quote, f.description).toBeTruthy();
      expect(f.quote).toBe(f.quote!.trim());
      expect(f.quote!.length).toBeLessThanOrEqual(1000);
      const at = locate(SECTION_TEXT, f.quote!);
      expect(at, f.quote).toBeDefined();
      return at!;
    });
    for (let i = 1; i < positions.length; i++) {
      const [line, column] = positions[i]!;
      const [prevLine, prevColumn] = positions[i - 1]!;
      expect(line > prevLine || (line === prevLine && column >= prevColumn)).toBe(true);
    }
    expect(new Set(findings.map((f) => f.description)).size).toBe(findings.length);
    for (const f of findings) {
      expect(f.category.length).toBeLessThanOrEqual(80);
      expect(f.description.length).toBeLessThanOrEqual(4000);
      expect((f.suggestion ?? '').length).toBeLessThanOrEqual(4000);
      expect(f.refs).toContain(9);
      // The job shows nothing under MIN_CONFIDENCE (0.8 by default).
      expect(f.confidence).toBeGreaterThanOrEqual(0.8);
      expect(f.confidence).toBeLessThanOrEqual(1);
      // Every description names what it flags, in quotes, or the sentence's length.
      expect(/“[^”]+”|\d+-word|\d+ words/.test(f.description), f.description).toBe(true);
    }
  });

  it("passes the job's filter untouched: quote verbatim, confident enough, no near-duplicates", async () => {
    const { findings } = await analyze(SECTION_TEXT);
    const filter = new FindingFilter(SECTION_TEXT);
    for (const finding of findings) expect(filter.accept(finding), finding.description).toEqual(finding);
  });

  it('tells apart the same flag on two sentences and drops exact repeats', async () => {
    const text = ['The queue is very slow.', 'The database is very slow.', 'The database is very slow.'].join(
      '\n',
    );
    const { findings } = await analyze(text);
    const weasels = findings.filter((f) => f.category === 'Weasel words');
    expect(weasels).toHaveLength(2);
    expect(new Set(weasels.map((f) => f.description)).size).toBe(2);
    expect(weasels[1]!.description).toContain('The database is very slow.');
  });

  it('merges several hits of one rule on one sentence into one finding', async () => {
    const { findings } = await analyze('The patch was deployed on Friday and was not reviewed by anyone.');
    const passive = findings.filter((f) => f.category === 'Passive voice');
    expect(passive).toHaveLength(1);
    expect(passive[0]!.description).toContain('“was deployed”');
    expect(passive[0]!.description).toContain('“was not reviewed”');
  });

  it('keeps at most MAX_FINDINGS, spread over the categories', async () => {
    const text = Array.from(
      { length: 30 },
      (_, i) => `Batch ${i + 1} was written by hand and perhaps in order to utilize the very old tool.`,
    ).join('\n');
    const { findings } = await analyze(text);
    expect(findings).toHaveLength(MAX_FINDINGS);
    expect(new Set(findings.map((f) => f.category)).size).toBeGreaterThanOrEqual(4);
  });

  it('gives no English checks to Chinese, Arabic or Russian text', async () => {
    const chinese = '该报告由团队撰写。也许缓存可能导致了速度变慢。我们为了利用备用容量而重新启动了节点。';
    const arabic = 'تمت كتابة التقرير من قبل الفريق. ربما تسببت ذاكرة التخزين المؤقت في البطء.';
    const russian = 'Отчёт был написан командой. Возможно, кэш вызвал замедление работы системы.';
    for (const text of [chinese, arabic, russian, `${chinese}\n${arabic}\n${russian}`]) {
      expect(looksEnglish(text)).toBe(false);
      const { findings, events } = await analyze(text);
      expect(findings).toEqual([]);
      expect(events).toEqual(['started:rules']);
    }
    // A Chinese line inside an English section is skipped; the English lines are still checked.
    const { findings } = await analyze(`${chinese}\nWe went to the the shop.`);
    expect(findings.map((f) => f.category)).toEqual(['Repeated word']);
  });

  it('gives no checks to Latin-script text in another language', async () => {
    const french =
      'Le rapport a été rédigé par l’équipe de la plateforme, puis la base de données principale a été redémarrée pendant la nuit.';
    expect(looksEnglish(french)).toBe(false);
    expect((await analyze(french)).findings).toEqual([]);
  });

  it('quotes a part of a sentence over 1,000 characters, verbatim', async () => {
    const clause = 'the replica in the second region accepted writes from the batch importer';
    const sentence = `${Array.from({ length: 10 }, () => clause).join(', and ')}, and perhaps ${Array.from({ length: 10 }, () => clause).join(', and ')}.`;
    expect(sentence.length).toBeGreaterThan(1000);
    const line = `Note\t${sentence}`;
    const { findings } = await analyze(line);
    const hedge = findings.find((f) => f.category === 'Hedging')!;
    expect(hedge.quote!.length).toBeLessThanOrEqual(1000);
    expect(line).toContain(hedge.quote!);
    expect(hedge.quote).toContain('perhaps');
    const readability = findings.find((f) => f.category === 'Readability')!;
    expect(readability.quote!.length).toBeLessThanOrEqual(1000);
    expect(sentence.startsWith(readability.quote!)).toBe(true);
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
      'Owner\tAction\tDue date',
      'Bob\tAdd an alert on replication lag prior to the next release\t2024-06-01',
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
