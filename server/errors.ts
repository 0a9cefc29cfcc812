import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { AppError, invalidRequest, notFound, type ErrorBody as WireError, type ErrorCode } from '../domain/errors.ts';
import { PG_ERROR, isUnavailable, pgErrorCode } from '../sql/errors.ts';

export { AppError, forbidden, invalidRequest, notFound, rateLimited } from '../domain/errors.ts';

/**
 * 409 `member_limit_reached`: the document already has its most members. A
 * conflict with the document's state, resolved by removing a member, not by
 * waiting (429) or by changing the request (400).
 */
export const memberLimitReached = (limit: number) =>
  new AppError('member_limit_reached', `A document can have at most ${limit} members; remove one first.`, { limit });

const racedConflict = () => new AppError('conflict', 'A concurrent change got there first; try again.');

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
  // A racing write that the caller may simply repeat (`conflict`, an extension of the contract's codes).
  [PG_ERROR.uniqueViolation]: racedConflict,
  [PG_ERROR.serializationFailure]: racedConflict,
  [PG_ERROR.deadlockDetected]: racedConflict,
  [PG_ERROR.queryCanceled]: () => new AppError('unavailable', 'The database took too long; nothing was changed. Try again shortly.'),
};

/** The API error a PostgreSQL error stands for, or undefined when it is not one Herald expects. */
export function fromPgError(error: unknown): AppError | undefined {
  const code = pgErrorCode(error);
  return code === undefined ? undefined : PG_TO_API[code]?.();
}

export interface ErrorBody {
  error: WireError;
}

/** The contract's error body for any error; unknown errors are logged with the request id and answered 500. */
export function toErrorResponse(error: unknown, c: Context, logger: Logger): Response {
  const body = (code: ErrorCode, message: string, details?: unknown): ErrorBody => ({
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
  if (isUnavailable(error)) {
    logger.warn({ err: error, requestId: c.get('requestId') }, 'dependency unavailable');
    return c.json(body('unavailable', 'A dependency (PostgreSQL or Redis) is unavailable; nothing was changed. Try again shortly.'), 503);
  }
  logger.error({ err: error, requestId: c.get('requestId') }, 'unhandled error');
  return c.json(body('internal', 'Something went wrong on our side; it has been logged.'), 500);
}
