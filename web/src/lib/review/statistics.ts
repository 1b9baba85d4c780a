/**
 * The statistics panel's figures, from the items the room shows: each item is counted under the type,
 * risk and decision its card shows. Colours are CSS custom properties (resolved when a chart is drawn),
 * so light and dark mode each get their own readable palette.
 */
import { FEEDBACK_STATUSES, FEEDBACK_TYPES, type FeedbackItem, RISKS, type Section } from '../types.ts';
import { RISK_LABEL, STATUS_LABEL, TYPE_LABEL } from './labels.ts';

export interface Series {
  labels: string[];
  values: number[];
  /** CSS custom property names, e.g. `--critical`. */
  colors: string[];
}

export interface FindingStats {
  type: Series;
  risk: Series;
  decision: Series;
  section: Series;
}

const TYPE_COLORS = ['--critical', '--important', '--suggestion', '--ok'];
const RISK_COLORS = ['--danger', '--important', '--text-3'];
const STATUS_COLORS = ['--text-3', '--ok', '--danger'];

const clip = (text: string) => (text.length > 28 ? `${text.slice(0, 27)}…` : text);

export function findingStats(items: readonly FeedbackItem[], sections: readonly Section[]): FindingStats {
  const byType: Record<string, number> = {};
  const byRisk: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  const bySection = new Map<string, number>();
  for (const item of items) {
    byType[item.type] = (byType[item.type] ?? 0) + 1;
    byRisk[item.risk] = (byRisk[item.risk] ?? 0) + 1;
    byStatus[item.status] = (byStatus[item.status] ?? 0) + 1;
    bySection.set(item.sectionId, (bySection.get(item.sectionId) ?? 0) + 1);
  }
  const withItems = sections.filter((s) => bySection.has(s.id));
  return {
    type: {
      labels: FEEDBACK_TYPES.map((t) => TYPE_LABEL[t]),
      values: FEEDBACK_TYPES.map((t) => byType[t] ?? 0),
      colors: TYPE_COLORS,
    },
    risk: {
      labels: RISKS.map((r) => RISK_LABEL[r]),
      values: RISKS.map((r) => byRisk[r] ?? 0),
      colors: RISK_COLORS,
    },
    decision: {
      labels: FEEDBACK_STATUSES.map((s) => STATUS_LABEL[s]),
      values: FEEDBACK_STATUSES.map((s) => byStatus[s] ?? 0),
      colors: STATUS_COLORS,
    },
    section: {
      labels: withItems.map((s) => clip(s.title || 'Untitled')),
      values: withItems.map((s) => bySection.get(s.id) ?? 0),
      colors: withItems.map(() => '--accent'),
    },
  };
}

/** The count a series holds for `label` (what a person reads off the legend). */
export const countOf = (series: Series, label: string): number =>
  series.values[series.labels.indexOf(label)] ?? 0;
