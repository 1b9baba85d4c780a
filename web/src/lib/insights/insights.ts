/**
 * The workspace insights client (CONTRACT 7.4 `GET /api/workspaces/:id/insights` and Prism's
 * extensions): the figures, the reviews and items behind one, and the download links.
 *
 * Live refresh is a poll with backoff on a cheap signal: each poll sends the last ETag, and the
 * server answers 304 after reading only the reviews' stamps (seq and token totals) while nothing
 * changed. Polls start every 5 s, back off by 1.5x up to 60 s while nothing changes, return to
 * 5 s after a change or when the tab becomes visible again, and stop while it is hidden.
 *
 * The answer's types are core's (core/src/insights.ts, type-only: nothing of core reaches the bundle).
 */
import { errorMessage, networkError, toApiError } from '#lib/api.ts';
import type { AcceptanceBy, Drill, Insights as Figures } from '../../../../core/src/insights.ts';

export type {
  AcceptanceBy,
  AcceptanceRow,
  Drill,
  PatternRow,
  TrendRow,
} from '../../../../core/src/insights.ts';

/**
 * The figures as the JSON answer has them: with `version`, its ETag, and `learned`, the team's
 * preferences as the next analyses' prompt states them ('' while no kind has a clear lean).
 */
export type Insights = Figures & { version: string; learned?: string };

const base = (workspaceId: string): string => `/api/workspaces/${encodeURIComponent(workspaceId)}/insights`;

export const insightsDownload = (workspaceId: string, format: 'csv' | 'xlsx'): string =>
  `${base(workspaceId)}?format=${format}`;

/** fetch, with a request that never reached the server told as such, not as the browser's "Failed to fetch". */
async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (init.signal?.aborted) throw error;
    throw networkError();
  }
}

/** The figures, or `null` when they are unchanged since `etag` (304). */
export async function fetchInsights(
  workspaceId: string,
  etag: string | null,
  signal?: AbortSignal,
): Promise<{ insights: Insights; etag: string | null } | null> {
  const response = await send(base(workspaceId), {
    headers: { accept: 'application/json', ...(etag ? { 'if-none-match': etag } : {}) },
    credentials: 'same-origin',
    cache: 'no-cache',
    signal,
  });
  if (response.status === 304) return null;
  const text = await response.text();
  if (!response.ok) throw toApiError(response.status, text);
  return { insights: JSON.parse(text) as Insights, etag: response.headers.get('etag') };
}

export async function fetchDrill(workspaceId: string, by: AcceptanceBy, key: string): Promise<Drill> {
  const query = new URLSearchParams({ by, key });
  const response = await send(`${base(workspaceId)}?${query}`, {
    headers: { accept: 'application/json' },
    credentials: 'same-origin',
  });
  const text = await response.text();
  if (!response.ok) throw toApiError(response.status, text);
  return JSON.parse(text) as Drill;
}

export const POLL = { first: 5_000, factor: 1.5, max: 60_000 } as const;

/**
 * Polls a workspace's insights until `stop()`: `onData` on every change (the first load too),
 * `onError` with a message when a poll fails (polling goes on, backed off).
 */
export function pollInsights(
  workspaceId: string,
  onData: (insights: Insights) => void,
  onError: (message: string) => void,
): { stop: () => void; now: () => void } {
  let etag: string | null = null;
  let delay: number = POLL.first;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let running = false;
  const controller = new AbortController();

  const schedule = (): void => {
    clearTimeout(timer);
    if (stopped || document.visibilityState === 'hidden') return;
    timer = setTimeout(() => void poll(), delay);
  };
  const poll = async (): Promise<void> => {
    if (stopped || running) return;
    running = true;
    try {
      const got = await fetchInsights(workspaceId, etag, controller.signal);
      if (got) {
        etag = got.etag;
        delay = POLL.first;
        onData(got.insights);
      } else {
        delay = Math.min(POLL.max, delay * POLL.factor);
      }
    } catch (error) {
      if (stopped) return;
      delay = Math.min(POLL.max, delay * POLL.factor);
      onError(errorMessage(error));
    } finally {
      running = false;
    }
    schedule();
  };
  const visible = (): void => {
    if (document.visibilityState === 'visible') {
      delay = POLL.first;
      void poll();
    } else clearTimeout(timer);
  };
  document.addEventListener('visibilitychange', visible);
  void poll();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      controller.abort();
      document.removeEventListener('visibilitychange', visible);
    },
    now: () => {
      delay = POLL.first;
      void poll();
    },
  };
}
