/**
 * Every error code Herald answers with, and its HTTP status: one list for
 * REST bodies (`{error:{code, message, details?}}`), socket acks
 * (`{ok:false, error:{code, message}}`) and handshake refusals
 * (`connect_error` with `data.code`). CONTRACT.md section 3 names the
 * contract's codes; the rest are this implementation's extensions, each
 * documented below and in the README's contract notes. Pure: no I/O.
 */
export const ERROR_STATUS = {
  // The contract's codes (CONTRACT.md section 3).
  /** A field is missing or wrong; `details` names each bad field. */
  invalid_request: 400,
  /** The body is not JSON. */
  invalid_json: 400,
  /** No token, or one that is not valid (expired, no `exp`, control characters in claims). */
  unauthenticated: 401,
  /** Missing, or not shared with the caller: the two are never told apart. */
  not_found: 404,
  /** Autosave's `base_version` is not the chapter's version; the body carries `current`. */
  version_conflict: 409,
  /** A body past MAX_UPLOAD_BYTES (or a chapter past MAX_CHAPTER_BYTES). */
  payload_too_large: 413,
  /** An `op_id` already used for another chapter or another body. */
  idempotency_mismatch: 422,
  /** Too many requests; `Retry-After` says when to try again. */
  rate_limited: 429,
  /** PostgreSQL or Redis is down; nothing was half-written. */
  unavailable: 503,

  // Extensions.
  /** A member without the right (a viewer saving, a non-owner sharing or deleting). */
  forbidden: 403,
  /** Node refused the request before the app: it took too long to arrive. */
  request_timeout: 408,
  /**
   * A racing write got there first (a unique violation, a serialization
   * failure or a deadlock that PostgreSQL reported); nothing was changed and
   * the request may simply be repeated. Not `version_conflict`, which
   * promises a `current` body.
   */
  conflict: 409,
  /** The document already has MAX_MEMBERS_PER_DOCUMENT members; remove one first. */
  member_limit_reached: 409,
  /** The owner tried to leave their own document (delete it instead). */
  owner_cannot_leave: 409,
  /** Only a failed job can be retried. */
  job_not_failed: 409,
  /** The job has already ended; there is nothing to cancel. */
  job_finished: 409,
  /** Socket only: an `unsubscribe` of the same document overtook this `subscribe`. */
  unsubscribed: 409,
  /** Socket only: past SOCKET_MAX_SUBSCRIPTIONS documents on one socket. */
  too_many_subscriptions: 429,
  /** Socket handshake only: past SOCKET_MAX_PER_USER sockets of one user. */
  too_many_sockets: 429,
  /** Node refused the request before the app: request line and headers past 16 KiB. */
  headers_too_large: 431,
  /** A bug, logged with the request id; never carries a stack trace. */
  internal: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

/** The wire shape of an error: a REST body's `error`, a socket ack's `error`. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/**
 * An error Herald answers with its own code; the status comes from the code.
 * REST turns it into the contract's body (server/errors.ts), the gateway into
 * an ack or a handshake refusal. The message says what to do next.
 */
export class AppError extends Error {
  readonly status: ErrorStatus;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Response headers the error carries (`Retry-After` on a 429). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }

  /** The wire shape: `{code, message, details?}`. */
  toBody(): ErrorBody {
    return { code: this.code, message: this.message, ...(this.details !== undefined && { details: this.details }) };
  }
}

/** 404 `not_found`: missing, or not shared with the caller. */
export const notFound = (message = 'No such resource, or it is not shared with you.') => new AppError('not_found', message);

/** 403 `forbidden`: the caller may see the document but not do this. */
export const forbidden = (message: string) => new AppError('forbidden', message);

/** 400 `invalid_request` with `details` naming each bad field. */
export const invalidRequest = (details: { field: string; message: string }[]) =>
  new AppError('invalid_request', 'The request is not valid; see details.', details);

/** 429 `rate_limited` with `Retry-After` in whole seconds. */
export const rateLimited = (retryAfterSeconds: number, message: string) =>
  new AppError('rate_limited', message, { retry_after: retryAfterSeconds }, { 'Retry-After': String(retryAfterSeconds) });
