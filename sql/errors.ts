/**
 * PostgreSQL error codes Herald reacts to, by name, so no caller compares
 * magic strings. server/errors.ts maps them to the API's codes in one place.
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html)
 */
export const PG_ERROR = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  /** A NUL (\u0000) in text: PostgreSQL cannot store it. */
  characterNotInRepertoire: '22021',
  untranslatableCharacter: '22P05',
  invalidTextRepresentation: '22P02',
  /** statement_timeout fired. */
  queryCanceled: '57014',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
} as const;

export type PgErrorName = keyof typeof PG_ERROR;

/** The SQLSTATE of a postgres.js error, or undefined for anything else. */
export function pgErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Whether the error is the named PostgreSQL error (and, when given, on that constraint). */
export function isPgError(error: unknown, name: PgErrorName, constraint?: string): boolean {
  if (pgErrorCode(error) !== PG_ERROR[name]) return false;
  return constraint === undefined || (error as { constraint_name?: string }).constraint_name === constraint;
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  '57P01', '57P02', '57P03', '53300', '08000', '08003', '08006', '08001', '08004',
]);

/**
 * Whether an error means PostgreSQL or Redis is unreachable or refusing
 * connections: the API answers 503 (nothing half-written), workers wait for
 * the store without spending a job's attempt, the outbox relay stops its batch.
 */
export function isUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; name?: unknown } | undefined;
  if (!e) return false;
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  // ALTER DATABASE … ALLOW_CONNECTIONS false (maintenance) answers 55000, a code shared with unrelated errors.
  if (pgErrorCode(error) === '55000' && /not currently accepting connections/.test(message)) return true;
  if (/enableOfflineQueue|Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|MaxRetriesPerRequest|write EPIPE/i.test(message)) return true;
  // A Redis Cluster that lost a shard, is failing over or has no node left (ioredis's and Redis's own words).
  return /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN)\b|None of startup nodes is available|Failed to refresh slots cache|Cluster is (ended|disconnected)|Too many Cluster redirections/.test(message);
}
