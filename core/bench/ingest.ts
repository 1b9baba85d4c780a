/**
 * Ingestion benchmark: every document of the shared corpus through the upload checks
 * (inspectDocx) and section extraction (extractSections), then the comment export on each
 * accepted one. Prints a table of milliseconds per file and the totals.
 *
 *   npm run bench -w core
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { addComments, anchorSections, extractSections, inspectDocx, PrismError } from '../src/index.ts';

const CORPUS = fileURLToPath(new URL('../../../shared/corpus/docx/', import.meta.url));
const rows: { file: string; kb: number; inspect: number; extract: number; export: number; result: string }[] =
  [];

const time = async <T>(fn: () => T | Promise<T>): Promise<[T, number]> => {
  const started = performance.now();
  const value = await fn();
  return [value, Math.round(performance.now() - started)];
};

for (const file of readdirSync(CORPUS)
  .filter((f) => f.endsWith('.docx'))
  .sort()) {
  const buf = readFileSync(`${CORPUS}${file}`);
  const kb = Math.round(statSync(`${CORPUS}${file}`).size / 1024);
  try {
    const [, inspect] = await time(() => inspectDocx(buf));
    const [extracted, extract] = await time(() => extractSections(buf));
    // One comment per section, quoting its first line: what an export of a reviewed file does.
    const [, exported] = await time(() =>
      addComments(
        buf,
        extracted.sections.map((s) => ({
          sectionTitle: s.title,
          sectionIndex: s.index,
          quote: s.text.split('\n')[0]?.slice(0, 60),
          author: 'Bench',
          date: new Date().toISOString(),
          text: 'A comment.',
        })),
        { anchors: anchorSections(buf, extracted.sections) },
      ),
    );
    rows.push({
      file,
      kb,
      inspect,
      extract,
      export: exported,
      result: `${extracted.sections.length} sections`,
    });
  } catch (error) {
    rows.push({
      file,
      kb,
      inspect: 0,
      extract: 0,
      export: 0,
      result: error instanceof PrismError ? `refused: ${error.code}` : `ERROR ${String(error)}`,
    });
  }
}

console.log(
  '| file | KB | inspect ms | sections ms | export ms | result |\n| --- | --- | --- | --- | --- | --- |',
);
for (const r of rows)
  console.log(`| ${r.file} | ${r.kb} | ${r.inspect} | ${r.extract} | ${r.export} | ${r.result} |`);
const slowest = rows.reduce((a, b) => (a.inspect + a.extract > b.inspect + b.extract ? a : b));
console.log(
  `\n${rows.length} files; slowest ingestion ${slowest.file}: ${slowest.inspect + slowest.extract} ms; total ${rows.reduce((n, r) => n + r.inspect + r.extract, 0)} ms`,
);
