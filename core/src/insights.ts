/**
 * What `GET /api/workspaces/:id/insights` answers (CONTRACT 7.4 and Prism's extensions): the
 * figures, and with `?by=&key=` the reviews and items behind one. The server computes them
 * (server/src/domain/insights.ts); the web page shows them.
 */
import type { FeedbackSource, FeedbackStatus, FeedbackType } from './schemas.ts';

/** The dimensions acceptance is counted by (and a drill-down's `by`). */
export const ACCEPTANCE_BY = ['category', 'checkpoint', 'type', 'source'] as const;
export type AcceptanceBy = (typeof ACCEPTANCE_BY)[number];
/** The dimensions recurring problems are counted by. */
export const PATTERN_BY = ['category', 'checkpoint'] as const;
export type PatternBy = (typeof PATTERN_BY)[number];

export interface AcceptanceRow {
  by: AcceptanceBy;
  key: string;
  accepted: number;
  rejected: number;
  rate: number;
}

export interface PatternRow {
  by: PatternBy;
  key: string;
  reviews: number;
  findings: number;
  sections: number;
  /** Checkpoints only: reviews whose checklist verdict for it is `fail`. */
  failed?: number;
}

export interface TrendRow {
  /** The Monday (UTC) the week starts on, `YYYY-MM-DD`. */
  week: string;
  accepted: number;
  rejected: number;
  findings: number;
}

export interface InsightsCost {
  usd: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** The figures (the JSON answer adds `version`, its ETag). */
export interface Insights {
  acceptance: AcceptanceRow[];
  patterns: PatternRow[];
  trends: TrendRow[];
  cost: InsightsCost;
  /** How many reviews the figures cover (archived ones included). */
  reviews: number;
}

/** One item behind a figure. */
export interface DrillItem {
  id: string;
  sectionId: string;
  category: string;
  type: FeedbackType;
  source: FeedbackSource;
  status: FeedbackStatus;
  description: string;
}

/** The reviews and items behind one figure. */
export interface Drill {
  by: AcceptanceBy;
  key: string;
  reviews: {
    id: string;
    title: string;
    archived: boolean;
    items: DrillItem[];
  }[];
}
