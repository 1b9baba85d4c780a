/**
 * `diagnostics.ai` (POST /api/diagnostics): one minimal call through this worker's chain, timed,
 * so an owner learns whether a model answers, which one and how fast. Servers never call models
 * (ARCHITECTURE principle 4); they wait for this job's return value. The probe is tied to no
 * review, so its token or two count against no budget.
 */
import type { DiagnosticsAiResult } from '@prism/core';
import { ProviderError } from '../ai/provider.ts';
import type { Handler } from './types.ts';

/** Longer than a healthy first token, shorter than the 20 s the server waits. */
export const PROBE_TIMEOUT_MS = 15_000;

export const probeAi: Handler<'diagnostics.ai'> = async (_job, { provider }, signal) => {
  if (!provider.probe) {
    return {
      ok: true,
      provider: provider.name,
      ms: 0,
      detail: 'No model configured: the rules provider reviews (no model is called).',
    } satisfies DiagnosticsAiResult;
  }
  const started = performance.now();
  const timeout = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  const stop = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const { model } = await provider.probe(stop);
    const ms = Math.round(performance.now() - started);
    return {
      ok: true,
      provider: provider.name,
      model,
      ms,
      detail: `${model} answered in ${ms} ms.`,
    } satisfies DiagnosticsAiResult;
  } catch (error) {
    const ms = Math.round(performance.now() - started);
    return {
      ok: false,
      provider: provider.name,
      ms,
      detail: failure(error, timeout.aborted),
    } satisfies DiagnosticsAiResult;
  }
};

/**
 * What went wrong, in words that hold nothing secret: Prism's own failures say what they are;
 * anything else (an SDK error may quote a request) is named by its kind only.
 */
function failure(error: unknown, timedOut: boolean): string {
  if (timedOut) return `No model answered within ${PROBE_TIMEOUT_MS / 1000} s.`;
  if (error instanceof ProviderError) return error.message.slice(0, 400);
  const name = (error as { name?: string }).name ?? 'Error';
  return `The model call failed (${name}).`;
}
