/**
 * A finding's `refs` are checkpoint numbers of its review's rubric (CONTRACT 7.4). With a
 * workspace rubric, a model's refs outside it are dropped, and the rules provider's (which cite the
 * default rubric's numbers: 9 Clarity, 11 Structure, ...) are left out, since the same numbers
 * name other checkpoints there.
 */
import type { Rubric } from '@prism/core';

export function rubricRefs(refs: number[], rubric: Rubric | undefined, source: 'ai' | 'rules'): number[] {
  if (!rubric || rubric.id === 'default') return refs;
  if (source === 'rules') return [];
  const known = new Set(rubric.checkpoints.map((checkpoint) => checkpoint.n));
  return refs.filter((n) => known.has(n));
}
