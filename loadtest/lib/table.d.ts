/** Types for table.js (plain JS so k6 loads it as is), for src/merge.ts. */

type Figure = number | null | undefined;

export interface TableFigures {
  reviewers: Figure;
  deliveriesPerSecond: Figure;
  eventLatencyMs: { p50: Figure; p95: Figure; p99: Figure };
  ttftMs: { p50: Figure };
  ttftOverheadMs: { p50: Figure };
  fanoutSpreadMs: { p95: Figure };
  errors: number;
  seqGaps: number;
  seqDups: number;
  reconnects: number;
}

export declare const fmt: (v: Figure, digits?: number) => string;
export declare const MARKDOWN_HEADER: string;
export declare function markdownRow(label: string, f: TableFigures): string;
