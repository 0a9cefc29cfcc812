import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { PG_ERROR, isUnavailable, pgErrorCode } from '../sql/errors.ts';

/** An error the API answers with its own status and code (CONTRACT.md section 3). */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: ContentfulStatusCode,
    message: string,
    readonly details?: unknown,
    /** Response headers the error carries (`Retry-After` on a 429). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** 429 `rate_limited` with `Retry-After` in whole seconds. */
export const rateLimited = (retryAfterSeconds: number, message: string) =>
  new AppError('rate_limited', 429, message, { retry_after: retryAfterSeconds }, { 'Retry-After': String(retryAfterSeconds) });

export const notFound = () => new AppError('not_found', 404, 'No such resource, or it is not shared with you.');
export const forbidden = (message: string) => new AppError('forbidden', 403, message);
export const invalidRequest = (details: { field: string; message: string }[]) =>
  new AppError('invalid_request', 400, 'The request is not valid; see details.', details);
/**
 * 409 `member_limit_reached`: the document already has its most members. A
 * conflict with the document's state, resolved by removing a member, not by
 * waiting (429) or by changing the request (400).
 */
export const memberLimitReached = (limit: number) =>
  new AppError('member_limit_reached', 409, `A document can have at most ${limit} members; remove one first.`, { limit });

/**
 * The one place PostgreSQL errors become API errors. Anything not listed is
 * either a dependency outage (503, below) or a bug (500).
 */
const PG_TO_API: Record<string, () => AppError> = {
  // Text PostgreSQL cannot store (a NUL): the input's fault.
  [PG_ERROR.characterNotInRepertoire]: () => invalidRequest([{ field: '(body)', message: 'must not contain NUL (\\u0000) characters' }]),
  [PG_ERROR.untranslatableCharacter]: () => invalidRequest([{ field: '(body)', message: 'contains characters the database cannot store' }]),
  // A row that vanished between the check and the write (a document deleted meanwhile).
  [PG_ERROR.foreignKeyViolation]: notFound,
  // A racing write that the caller may simply repeat.
  [PG_ERROR.uniqueViolation]: () => new AppError('conflict', 409, 'A concurrent change got there first; try again.'),
  [PG_ERROR.serializationFailure]: () => new AppError('conflict', 409, 'A concurrent change got there first; try again.'),
  [PG_ERROR.deadlockDetected]: () => new AppError('conflict', 409, 'A concurrent change got there first; try again.'),
  [PG_ERROR.queryCanceled]: () => new AppError('unavailable', 503, 'The database took too long; nothing was changed. Try again shortly.'),
};

/** The API error a PostgreSQL error stands for, or undefined when it is not one Herald expects. */
export function fromPgError(error: unknown): AppError | undefined {
  const code = pgErrorCode(error);
  return code === undefined ? undefined : PG_TO_API[code]?.();
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** The contract's error body for any error; unknown errors are logged with the request id and answered 500. */
export function toErrorResponse(error: unknown, c: Context, logger: Logger): Response {
  const body = (code: string, message: string, details?: unknown): ErrorBody => ({
    error: { code, message, ...(details !== undefined && { details }) },
  });
  const known = error instanceof AppError ? error : fromPgError(error);
  // A mapped database error of the server's own making (a race, a timeout) is worth a log line.
  if (known && known !== error && known.status >= 409) logger.warn({ err: error, requestId: c.get('requestId') }, 'database error answered as ' + known.code);
  if (known) return c.json(body(known.code, known.message, known.details), known.status, known.headers);
  if (error instanceof HTTPException) {
    if (error.status === 400 && /JSON/i.test(error.message)) {
      return c.json(body('invalid_json', 'The body is not valid JSON.'), 400);
    }
    if (error.status === 413) {
      return c.json(body('payload_too_large', error.message || 'The request body is too large.'), 413);
    }
    if (error.status === 401) return c.json(body('unauthenticated', error.message || 'A valid token is required.'), 401);
    if (error.status < 500) return c.json(body('invalid_request', error.message || 'The request is not valid.'), error.status as ContentfulStatusCode);
  }
  // 22021/22P05: text PostgreSQL cannot store (a NUL): the input's fault. Schemas refuse it first; this is the safety net.
  if (['22021', '22P05'].includes(String((error as { code?: unknown } | undefined)?.code))) {
    return c.json(body('invalid_request', 'The request is not valid; see details.', [{ field: '(body)', message: 'must not contain NUL (\\u0000) characters' }]), 400);
  }
  if (isUnavailable(error)) {
    logger.warn({ err: error, requestId: c.get('requestId') }, 'dependency unavailable');
    return c.json(body('unavailable', 'A dependency (PostgreSQL or Redis) is unavailable; nothing was changed. Try again shortly.'), 503);
  }
  logger.error({ err: error, requestId: c.get('requestId') }, 'unhandled error');
  return c.json(body('internal', 'Something went wrong on our side; it has been logged.'), 500);
}
