/**
 * Herald's words for kinds and statuses, each listed once (CONTRACT.md
 * sections 4 and 5). Schemas (zod), SQL row types, the event contract and the
 * editor page all take their unions from these tuples, so a new member is
 * added here and nowhere else. Pure: no I/O, safe in the browser bundle.
 */

/** What a manuscript is; `screenplay` also splits at scene headings (`INT.`, `EXT.`, …). Default `book`. */
export const DOCUMENT_KINDS = ['book', 'screenplay'] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

/** A chapter's processing: queued → processing → completed | failed; completed/failed is always its last. */
export const CHAPTER_STATUSES = ['queued', 'processing', 'completed', 'failed'] as const;
export type ChapterStatus = (typeof CHAPTER_STATUSES)[number];

/** A document's processing: `partial` when every chapter ended but some failed. */
export const DOCUMENT_STATUSES = ['processing', 'completed', 'partial'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];

/**
 * A background job's status. A retry that is due puts a job back to `queued`;
 * `failed` is the end after the last attempt; `cancelled` is never followed
 * by anything.
 */
export const JOB_STATUSES = ['queued', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * Whether each job status is an end. A record over every status, so a new
 * status that is not classed here fails to compile. Chapter statuses are job
 * statuses too (a chapter ends completed or failed), so one rule serves both.
 */
const FINISHED: { readonly [S in JobStatus]: boolean } = {
  queued: false,
  processing: false,
  completed: true,
  failed: true,
  cancelled: true,
};

/** The statuses nothing follows but a retry's `queued`: `completed`, `failed`, `cancelled`. */
export const FINISHED_JOB_STATUSES = JOB_STATUSES.filter((s) => FINISHED[s]);

/**
 * Whether a job (or a chapter) has ended: `completed`, `failed` or
 * `cancelled`. Unknown strings (a BullMQ state such as `active`) are not.
 *
 * @example isFinished('failed') // true
 * @example isFinished('processing') // false
 */
export function isFinished(status: JobStatus | (string & {})): boolean {
  return Object.hasOwn(FINISHED, status) && FINISHED[status as JobStatus];
}

/** A package's stage: `essential` (no AI, built at once), then `full`. */
export const PACKAGE_STAGES = ['essential', 'full'] as const;
export type PackageStage = (typeof PACKAGE_STAGES)[number];

/** A manual refresh's status, in its history (`GET /api/documents/:id/refreshes`). */
export const REFRESH_STATUSES = ['pending', 'completed', 'failed', 'cancelled'] as const;
export type RefreshStatus = (typeof REFRESH_STATUSES)[number];
