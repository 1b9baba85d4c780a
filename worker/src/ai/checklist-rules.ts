/**
 * The rules provider's checklist: deterministic verdicts for the checkpoints its checks can judge,
 * from every finding its checks make over the whole document (no cap), and "Needs a model" for the
 * rest. Judged (default rubric numbers, the `refs` the checks cite):
 * - 6 Timeline: fail when dates run out of order; pass when the document has dates and they are
 *   in order; without dates it needs a model.
 * - 7 Actions: fail when an action line has no owner or due date; pass when an actions section
 *   exists and every line has both; without one it needs a model.
 * - 9 Clarity: fail for undefined acronyms or broken words, partial for prose remarks only, else pass.
 * - 10 Consistency: fail when a figure is stated with different values in two sections, else pass.
 * - 11 Structure: fail for an empty section or a placeholder (TBD, TODO, ...), else pass.
 * - 12 Compliance: with guidelines, fail for a section they require that is missing, else pass;
 *   without guidelines `na` (nothing to comply with).
 * The others (summary, scope, evidence, root cause, impact, risks) are judgements of meaning:
 * verdict `na`, `needsModel: true`, explanation "Needs a model: ...".
 */
import { type ChecklistEntry, type Evidence, NEEDS_MODEL, type Rubric, type Verdict } from '@prism/core';
import { verbatimEvidence } from './checklist.ts';
import type { DocumentContext, Finding } from './provider.ts';
import { datesIn } from './rules/dates.ts';
import { checkSection } from './rules/index.ts';

type Located = Finding & { sectionId: string };

const ACTIONS_TITLE =
  /\b(actions?|action items?|action plan|next steps?|recommendations?|remediation|follow[- ]ups?|to-?dos?)\b/i;

const STRUCTURAL = new Set(['Placeholder', 'Empty section', 'Missing section']);

function evidenceOf(findings: Located[], document: DocumentContext): Evidence[] {
  return verbatimEvidence(
    findings.flatMap((f) => (f.quote ? [{ sectionId: f.sectionId, quote: f.quote }] : [])),
    document,
  );
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

interface Judged {
  verdict: Verdict;
  explanation: string;
  findings?: Located[];
  needsModel?: boolean;
}

/** The checkpoint numbers this provider judges (of the default rubric), and how. */
function judge(n: number, all: Located[], document: DocumentContext): Judged | undefined {
  const cites = all.filter((f) => f.refs.includes(n));
  const named = (category: RegExp) => cites.filter((f) => category.test(f.category));
  switch (n) {
    case 6: {
      const order = named(/^Timeline/);
      if (order.length > 0)
        return {
          verdict: 'fail',
          explanation: `${plural(order.length, 'date')} out of order in the timeline.`,
          findings: order,
        };
      const dated = document.sections.filter((s) => datesIn(s.text).length > 0).length;
      if (dated === 0) return undefined;
      return {
        verdict: 'pass',
        explanation: `Dates appear in ${plural(dated, 'section')} and none is out of order.`,
      };
    }
    case 7: {
      const open = named(/^Action without/);
      if (open.length > 0)
        return {
          verdict: 'fail',
          explanation: `${plural(open.length, 'action')} without an owner or a due date.`,
          findings: open,
        };
      if (!document.sections.some((s) => ACTIONS_TITLE.test(s.title))) return undefined;
      return { verdict: 'pass', explanation: 'Every action line names an owner and a due date.' };
    }
    case 9: {
      const hard = cites.filter((f) => /^(Undefined acronym|Broken word)/.test(f.category));
      if (hard.length > 0)
        return {
          verdict: 'fail',
          explanation: `${hard.length} undefined ${hard.length === 1 ? 'acronym or broken word' : 'acronyms or broken words'}, e.g. ${hard
            .slice(0, 3)
            .map((f) => `"${f.quote ?? f.category}"`)
            .join(', ')}.`,
          findings: hard,
        };
      const prose = all.filter((f) => f.refs.includes(9));
      if (prose.length > 0)
        return {
          verdict: 'partial',
          explanation: `No undefined terms, but ${plural(prose.length, 'prose remark')} on wording (passive voice, long sentences, vague words).`,
          findings: prose,
        };
      return { verdict: 'pass', explanation: 'Acronyms are defined and the prose checks found nothing.' };
    }
    case 10: {
      const figures = named(/^Inconsistent/);
      if (figures.length > 0)
        return {
          verdict: 'fail',
          explanation: `${plural(figures.length, 'figure')} stated with different values in different sections.`,
          findings: figures,
        };
      return { verdict: 'pass', explanation: 'No figure is stated with different values in two sections.' };
    }
    case 11: {
      const gaps = cites.filter((f) => STRUCTURAL.has(f.category) && f.category !== 'Missing section');
      if (gaps.length > 0)
        return {
          verdict: 'fail',
          explanation: `${gaps.length} ${gaps.length === 1 ? 'empty section or placeholder' : 'empty sections or placeholders'} left in the document.`,
          findings: gaps,
        };
      return { verdict: 'pass', explanation: 'No empty section and no placeholder (TBD, TODO, ...).' };
    }
    case 12: {
      if (!document.guidelines)
        return {
          verdict: 'na',
          explanation:
            'No guidelines were uploaded with the document, so there is nothing to check it against.',
        };
      const missing = all.filter((f) => f.category === 'Missing section');
      if (missing.length > 0)
        return {
          verdict: 'fail',
          explanation: `${plural(missing.length, 'section')} the guidelines require ${missing.length === 1 ? 'is' : 'are'} missing.`,
          findings: missing,
        };
      return { verdict: 'pass', explanation: 'Every section the guidelines require is present.' };
    }
    default:
      return undefined;
  }
}

/**
 * One entry per checkpoint of the rubric. Only the default rubric's numbers are judged: another
 * rubric's checkpoints all need a model.
 */
export function rulesChecklist(document: DocumentContext, rubric: Rubric): ChecklistEntry[] {
  const all: Located[] = document.sections.flatMap((section) =>
    checkSection(section, { document, max: Number.POSITIVE_INFINITY }).findings.map((f) => ({
      ...f,
      sectionId: section.id,
    })),
  );
  return rubric.checkpoints.map((checkpoint) => {
    const judged = rubric.id === 'default' ? judge(checkpoint.n, all, document) : undefined;
    if (!judged) {
      return {
        n: checkpoint.n,
        verdict: 'na',
        explanation: `${NEEDS_MODEL} ("${checkpoint.title}" is a judgement of meaning).`,
        evidence: [],
        source: 'rules',
        model: 'rules',
        needsModel: true,
      };
    }
    return {
      n: checkpoint.n,
      verdict: judged.verdict,
      explanation: judged.explanation,
      evidence: evidenceOf(judged.findings ?? [], document),
      source: 'rules',
      model: 'rules',
    };
  });
}
