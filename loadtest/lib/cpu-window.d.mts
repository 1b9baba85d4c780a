/** Types for cpu-window.mjs (plain JS so the report runs it with Node as is), for the unit tests. */

export interface CpuSamples {
  cores?: number;
  timeline: { t?: number; at?: number; machineBusyPct?: number; cpu?: Record<string, number> }[];
}

export interface CpuWindow {
  samples: number;
  machineAvgPct: number | null;
  machineMaxPct: number | null;
  cores: Record<string, number>;
  busiest: { name: string; pct: number } | null;
}

export declare function cpuBetween(cpu: CpuSamples | null, fromMs: number, toMs: number): CpuWindow | null;
export declare function limitOf(window: CpuWindow | null, coreCount: number | string): string;
export declare function coresText(window: CpuWindow | null, limit?: number): string;
