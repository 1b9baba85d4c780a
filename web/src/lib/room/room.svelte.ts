import { api, errorMessage, isApiError } from '#lib/api.ts';
import type { ReviewSnapshot, Section } from '#lib/types.ts';

export type RoomStatus = 'loading' | 'ready' | 'error';

export interface RoomError {
  /** HTTP status; 0 when the server could not be reached. */
  status: number;
  code: string;
  message: string;
}

/**
 * One open review. Today it loads the snapshot over HTTP; the realtime room grows here: join over
 * Socket.IO (`review:join`), apply `review:event`s by `seq`, and close gaps with `review:join {since}`.
 */
export class Room {
  readonly id: string;

  review = $state<ReviewSnapshot | null>(null);
  status = $state<RoomStatus>('loading');
  error = $state<RoomError | null>(null);
  selectedSectionId = $state<string | null>(null);

  readonly selectedSection: Section | null = $derived(
    this.review?.sections.find((section) => section.id === this.selectedSectionId) ??
      this.review?.sections[0] ??
      null,
  );

  #controller = new AbortController();

  constructor(id: string) {
    this.id = id;
  }

  async load(): Promise<void> {
    this.status = 'loading';
    this.error = null;
    try {
      const review = await api.getReview(this.id, this.#controller.signal);
      this.review = review;
      this.selectedSectionId ??= review.sections[0]?.id ?? null;
      this.status = 'ready';
    } catch (error) {
      if (this.#controller.signal.aborted) return;
      this.error = isApiError(error)
        ? { status: error.status, code: error.code, message: error.message }
        : { status: 0, code: 'error', message: errorMessage(error) };
      this.status = 'error';
    }
  }

  selectSection(sectionId: string): void {
    this.selectedSectionId = sectionId;
  }

  destroy(): void {
    this.#controller.abort();
  }
}
