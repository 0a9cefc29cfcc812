import { z } from '@hono/zod-openapi';
import { invalidRequest } from './errors.ts';

/**
 * Where a newest-first page stopped: the last row's `created_at` (UTC, to the
 * microsecond PostgreSQL keeps, so rows in the same millisecond are neither
 * skipped nor repeated) and its id, the tie-break.
 */
export interface PagePosition {
  /** `YYYY-MM-DDTHH:MM:SS.ffffffZ` */
  createdAt: string;
  id: string;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const Id = z.uuid();

/** An opaque cursor for the page after `position` (base64url, so clients treat it as a token, not data). */
export function encodeCursor(position: PagePosition): string {
  return Buffer.from(`${position.createdAt}|${position.id}`).toString('base64url');
}

/**
 * The position a cursor names. Anything this API did not hand out is a 400
 * naming `cursor`: it is checked here, so PostgreSQL never sees a malformed time.
 */
export function decodeCursor(cursor: string): PagePosition {
  const [createdAt = '', id = '', ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || !isTimestamp(createdAt) || !Id.safeParse(id).success) {
    throw invalidRequest([{ field: 'cursor', message: 'is not a cursor this API handed out; start again without one' }]);
  }
  return { createdAt, id: id.toLowerCase() };
}

/** A real instant from 1970 on, in the exact form encodeCursor writes (so no "February 30"). */
function isTimestamp(text: string): boolean {
  if (!TIMESTAMP.test(text)) return false;
  const millis = Date.parse(`${text.slice(0, 23)}Z`);
  return Number.isFinite(millis) && millis >= 0 && new Date(millis).toISOString().slice(0, 23) === text.slice(0, 23);
}
