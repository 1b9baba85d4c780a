/**
 * Prism's default rubric as data: the numbered checkpoints findings cite in `refs` (1-based), each with the
 * short title a reader sees ("Evidence") and the full checkpoint. No imports, so the browser bundle can
 * take it as is. worker/src/ai/prompts.ts holds the same checkpoints as prompt text.
 */
export interface RubricCheckpoint {
  n: number;
  title: string;
  text: string;
}

export const DEFAULT_RUBRIC: readonly RubricCheckpoint[] = [
  {
    n: 1,
    title: 'Executive summary',
    text: 'states the problem, its impact and the outcome in a few sentences a reader can act on.',
  },
  {
    n: 2,
    title: 'Scope and context',
    text: 'says what is covered, what is not, and the background a newcomer needs.',
  },
  {
    n: 3,
    title: 'Evidence',
    text: 'every claim is backed by data, logs, sources or observations that can be checked.',
  },
  {
    n: 4,
    title: 'Root cause',
    text: 'the cause is identified and shown, not asserted; contributing factors are named.',
  },
  { n: 5, title: 'Impact', text: 'who and what was affected, how much, for how long, in measurable terms.' },
  { n: 6, title: 'Timeline', text: 'events are in order with dates and times, and gaps are explained.' },
  {
    n: 7,
    title: 'Actions',
    text: 'each action is specific, has an owner and a due date, and addresses a cause.',
  },
  {
    n: 8,
    title: 'Risks',
    text: 'remaining risks and their likelihood and severity are stated, with mitigations.',
  },
  {
    n: 9,
    title: 'Clarity',
    text: 'plain language, defined terms and acronyms, no ambiguity about who does what.',
  },
  { n: 10, title: 'Consistency', text: 'numbers, names and dates agree across sections; no contradictions.' },
  {
    n: 11,
    title: 'Structure',
    text: 'headings match content; each section does one job; nothing essential is missing.',
  },
  {
    n: 12,
    title: 'Compliance',
    text: 'the document meets the stated guidelines, policies and required sections.',
  },
];

/** The checkpoint a ref cites, or undefined for a number outside the rubric. */
export const rubricCheckpoint = (n: number): RubricCheckpoint | undefined =>
  DEFAULT_RUBRIC.find((checkpoint) => checkpoint.n === n);
