/**
 * Findings benchmark for the rules provider. Part 1: documents written for the benchmark
 * (bench/findings/*.json), each with its planted defects listed, are built as .docx, sectioned by
 * core like an upload, and analysed section by section through RulesProvider and the job's
 * FindingFilter. A planted defect is found when a finding of its category, in its section,
 * quotes words overlapping the planted text (a missing section: names it). Prints recall and the
 * other findings per 1,000 words. Part 2: the real corpus (../shared/corpus/docx), findings per
 * 1,000 words by category, to show the rules are not noisy on documents nobody planted.
 *
 *   npm run bench:findings            (BENCH_CORPUS=0 skips part 2; exit code 1 under 80 % recall)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractSections } from '@prism/core';
import { Document, HeadingLevel, Packer, Paragraph, TextRun } from 'docx';
import { FindingFilter } from '../src/ai/findings.ts';
import type { DocumentContext, Finding } from '../src/ai/provider.ts';
import { RulesProvider } from '../src/ai/rules/index.ts';

const FIXTURES = join(import.meta.dirname, 'findings');
const CORPUS = join(import.meta.dirname, '../../../shared/corpus/docx');
const MIN_RECALL = 0.8;
/** Findings whose quote the job would change or drop (not verbatim text of one line): must stay 0. */
let unquoted = 0;

interface Fixture {
  title: string;
  guidelines?: string;
  sections: { title: string; paragraphs: string[] }[];
  defects: { section: string; category: string; text: string }[];
}

interface Located extends Finding {
  sectionTitle: string;
}

async function toDocx(fixture: Fixture): Promise<Buffer> {
  const children: Paragraph[] = [];
  for (const section of fixture.sections) {
    children.push(new Paragraph({ text: section.title, heading: HeadingLevel.HEADING_1 }));
    for (const text of section.paragraphs) children.push(new Paragraph({ children: [new TextRun(text)] }));
  }
  return Packer.toBuffer(new Document({ sections: [{ children }] }));
}

const wordCount = (document: DocumentContext): number =>
  document.sections.reduce((n, s) => n + (s.text.match(/\S+/g)?.length ?? 0), 0);

/** Every finding the room would show for the document: the provider's, through the job's filter. */
async function analyse(document: DocumentContext): Promise<{ findings: Located[]; notes: string[] }> {
  const provider = new RulesProvider();
  const findings: Located[] = [];
  const notes: string[] = [];
  for (const section of document.sections) {
    const filter = new FindingFilter(section.text);
    const result = await provider.analyze(
      { document, sectionId: section.id, thinking: false },
      {
        started: async () => {},
        finding: async (finding) => {
          const shown = filter.accept(finding);
          if (finding.quote && shown?.quote !== finding.quote) {
            unquoted++;
            console.log(
              `    quote changed: ${finding.category} ${JSON.stringify(finding.quote)} -> ${JSON.stringify(shown?.quote)}`,
            );
          }
          if (shown) findings.push({ ...shown, sectionTitle: section.title });
        },
        reasoning: () => {},
      },
      new AbortController().signal,
    );
    if (result.note) notes.push(`${section.title}: ${result.note}`);
  }
  return { findings, notes };
}

const overlaps = (quote: string | undefined, text: string): boolean =>
  !!quote && (quote.includes(text) || text.includes(quote));

function matches(finding: Located, defect: Fixture['defects'][number]): boolean {
  if (finding.category !== defect.category) return false;
  if (defect.category === 'Missing section') return finding.description.includes(`“${defect.text}”`);
  return finding.sectionTitle === defect.section && overlaps(finding.quote, defect.text);
}

async function planted(): Promise<number> {
  let planted = 0;
  let found = 0;
  let others = 0;
  let words = 0;
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
  console.log('Planted defects (bench/findings)');
  for (const file of files) {
    const fixture = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Fixture;
    const extracted = await extractSections(await toDocx(fixture));
    const document: DocumentContext = {
      reviewId: file,
      title: fixture.title,
      sections: extracted.sections.map(({ id, title, text }) => ({ id, title, text })),
      ...(fixture.guidelines ? { guidelines: fixture.guidelines } : {}),
    };
    const { findings, notes } = await analyse(document);
    const used = new Set<Located>();
    const missed: string[] = [];
    for (const defect of fixture.defects) {
      const hit = findings.find((f) => matches(f, defect));
      if (hit) used.add(hit);
      else missed.push(`${defect.category} “${defect.text}” in “${defect.section}”`);
    }
    const extra = findings.filter((f) => !used.has(f));
    const docWords = wordCount(document);
    planted += fixture.defects.length;
    found += fixture.defects.length - missed.length;
    others += extra.length;
    words += docWords;
    console.log(
      `  ${file}: ${fixture.defects.length - missed.length}/${fixture.defects.length} found, ${extra.length} other findings, ${docWords} words`,
    );
    for (const m of missed) console.log(`    missed: ${m}`);
    for (const f of extra) console.log(`    other: ${f.category} “${f.quote ?? ''}” (${f.sectionTitle})`);
    for (const n of notes) console.log(`    note: ${n}`);
  }
  const recall = found / planted;
  console.log(
    `  recall ${(recall * 100).toFixed(0)} % (${found}/${planted}); other findings ${((others * 1000) / words).toFixed(1)} per 1,000 words (${others} in ${words} words)`,
  );
  return recall;
}

async function corpus(): Promise<void> {
  if (!existsSync(CORPUS)) {
    console.log(`\nCorpus: ${CORPUS} not found, skipped`);
    return;
  }
  console.log('\nCorpus (findings per 1,000 words, by category)');
  let allWords = 0;
  let allFindings = 0;
  for (const file of readdirSync(CORPUS).filter((f) => f.endsWith('.docx'))) {
    let sections: DocumentContext['sections'];
    try {
      sections = (await extractSections(readFileSync(join(CORPUS, file)))).sections.map(
        ({ id, title, text }) => ({
          id,
          title,
          text,
        }),
      );
    } catch (error) {
      console.log(`  ${file}: not analysed (${(error as { code?: string }).code ?? 'unreadable'})`);
      continue;
    }
    const document: DocumentContext = { reviewId: file, title: file, sections };
    const started = performance.now();
    const { findings, notes } = await analyse(document);
    const ms = performance.now() - started;
    const words = wordCount(document);
    allWords += words;
    allFindings += findings.length;
    const per = (n: number): string => ((n * 1000) / Math.max(words, 1)).toFixed(1);
    const byCategory = new Map<string, number>();
    for (const f of findings) byCategory.set(f.category, (byCategory.get(f.category) ?? 0) + 1);
    const categories = [...byCategory]
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${per(n)}`)
      .join(', ');
    console.log(
      `  ${file}: ${sections.length} sections, ${words} words, ${findings.length} findings (${per(findings.length)}/1k${categories ? `: ${categories}` : ''}), ${notes.length} language notes, ${ms.toFixed(0)} ms`,
    );
  }
  console.log(
    `  all: ${allFindings} findings in ${allWords} words, ${((allFindings * 1000) / allWords).toFixed(1)} per 1,000 words`,
  );
}

const recall = await planted();
if (process.env.BENCH_CORPUS !== '0') await corpus();
console.log(`\nQuotes the job's filter would change or drop: ${unquoted}`);
if (unquoted > 0) process.exitCode = 1;
if (recall < MIN_RECALL) {
  console.error(`recall under ${MIN_RECALL * 100} %`);
  process.exitCode = 1;
}
