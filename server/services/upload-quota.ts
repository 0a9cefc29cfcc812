import type { Sql } from '../../sql/client.ts';
import { countWorkInFlight, insertDocument, type DocumentRow, type NewDocument, type WorkInFlight } from '../../sql/queries/documents.ts';
import { rateLimited } from '../errors.ts';

/** Per-user quotas of queued work (MAX_QUEUED_CHAPTERS_PER_USER, MAX_UPLOADS_IN_FLIGHT_PER_USER). */
export interface UploadQuota {
  /** Chapters the user may have queued or running, the new upload's included. */
  maxQueuedChapters: number;
  /** Uploads the user may have processing, the new one included. */
  maxUploadsInFlight: number;
}

/**
 * A hint, not a promise: quotas free as queued chapters finish, which no
 * one can time in advance. 30 s is a few windows' worth of chapters with a
 * real model, and short enough for a writer who is waiting.
 */
const RETRY_AFTER_SECONDS = 30;

/**
 * Stores the upload if the user's queued work leaves room for it; otherwise
 * 429 `rate_limited` and nothing is written.
 *
 * One mechanism, PostgreSQL counts: a quota on work in flight is a count of
 * rows that already exist (documents still processing, chapters without an
 * outcome), so it is counted from them rather than kept in a Redis counter
 * that a process dying between "queued" and "done" would leave wrong. The
 * count and the insert run in one transaction under a per-user advisory
 * lock, so two concurrent uploads of one user cannot both take the last
 * room. (Rates, such as refreshes per 5 minutes, stay in server/rate-limit.ts:
 * a rate has no rows to count.)
 *
 * A user with nothing queued is always let in (contract, section 3): one
 * document within the size and chapter limits never waits for a quota.
 */
export async function insertDocumentWithinQuota(sql: Sql, quota: UploadQuota | undefined, doc: NewDocument): Promise<DocumentRow> {
  if (!quota) return insertDocument(sql, doc);
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtextextended(${`herald:upload-quota:${doc.ownerId}`}, 0))`;
    refuseBeyondQuota(quota, await countWorkInFlight(tx, doc.ownerId), doc.chapters.length);
    return insertDocument(tx, doc);
  });
}

/** @throws AppError rate_limited when the upload of `chapters` more would pass a quota. */
export function refuseBeyondQuota(quota: UploadQuota, inFlight: WorkInFlight, chapters: number): void {
  if (inFlight.chapters === 0) return;
  if (inFlight.documents + 1 > quota.maxUploadsInFlight) {
    throw rateLimited(
      RETRY_AFTER_SECONDS,
      `You have ${inFlight.documents} uploads still processing (at most ${quota.maxUploadsInFlight}); try again when one is done.`,
    );
  }
  if (inFlight.chapters + chapters > quota.maxQueuedChapters) {
    throw rateLimited(
      RETRY_AFTER_SECONDS,
      `You have ${inFlight.chapters} chapters queued; this upload's ${chapters} would pass your quota of ${quota.maxQueuedChapters}. Try again when more are done.`,
    );
  }
}
