/**
 * Stable error codes shared by the HTTP API, socket acks and the web app (CONTRACT sections 3-4).
 * The `message` that travels with a code is written for a person; the code is for programs.
 */
export const ERROR_CODES = [
  'unauthorized',
  'forbidden',
  'not_found',
  'invalid',
  'too_long',
  'conflict',
  'rate_limited',
  'budget_exhausted',
  'unavailable',
  'unsupported_type',
  'corrupt_document',
  'encrypted_document',
  'empty_document',
  'too_large',
  /** A document with more sections, paragraphs or tables than Prism reads, or one too slow or too big to parse. */
  'too_complex',
  /** Guest sign-in (`POST /api/session {name}`) is switched off (AUTH_GUEST=false): sign in with the identity provider. */
  'guest_disabled',
  /** A workspace's last admin cannot be removed (CONTRACT 7.2): make someone else an admin first. */
  'last_admin',
  /** The built-in `default` rubric cannot be edited (CONTRACT 7.4): duplicate it and edit the copy. */
  'read_only',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** HTTP status for each code, used when the error leaves through an HTTP route. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  invalid: 400,
  too_long: 400,
  conflict: 409,
  rate_limited: 429,
  budget_exhausted: 402,
  unavailable: 503,
  unsupported_type: 415,
  corrupt_document: 400,
  encrypted_document: 400,
  empty_document: 400,
  too_large: 413,
  too_complex: 422,
  guest_disabled: 403,
  last_admin: 409,
  read_only: 409,
  internal: 500,
};

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** An error Prism expects and can explain; anything else is reported as `internal`. */
export class PrismError extends Error {
  readonly code: ErrorCode;
  /** Extra fields that go beside `error` in an ack, e.g. the current `item` of a conflict. */
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, extra?: Record<string, unknown>) {
    super(message);
    this.name = 'PrismError';
    this.code = code;
    this.extra = extra;
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

export const isPrismError = (error: unknown): error is PrismError => error instanceof PrismError;
