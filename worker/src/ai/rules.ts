/** The rules provider lives in `rules/`; this module keeps its import path for existing callers. */
export * from './rules/index.ts';
