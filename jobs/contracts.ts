/**
 * Every job Herald runs, its queue and its payload. Payloads are ids plus
 * small JSON; handlers re-read rows. `enqueue` is typed against this table
 * and the worker's handler table must cover it (`satisfies Record<JobName, …>`).
 */

/** BullMQ queue names (the configured prefix goes in front of every key). */
export const QUEUES = {
  chapters: 'chapters',
  documents: 'documents',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface JobPayloads {
  /** Summarise and embed one chapter version. */
  'chapter.process': { documentId: string; chapterId: string; version: number; requestId?: string };
  /** Fans an upload out into one job per chapter plus its finalize job (kept off the upload's request path). */
  'document.ingest': { documentId: string; finalizeJobId: string; requestId?: string };
  /** Runs once every chapter job of an upload has finished: settles the document's final status. */
  'document.finalize': { documentId: string; requestId?: string };
}

export type JobName = keyof JobPayloads;

/** Which queue each job runs on. */
export const JOB_QUEUE = {
  'chapter.process': QUEUES.chapters,
  'document.ingest': QUEUES.documents,
  'document.finalize': QUEUES.documents,
} as const satisfies Record<JobName, QueueName>;

/** Named priorities (BullMQ: lower number runs first). */
export const PRIORITY = { urgent: 1, high: 2, normal: 5, low: 10 } as const;
export type PriorityName = keyof typeof PRIORITY;

/** Deterministic job ids make enqueueing idempotent (BullMQ ignores a second add with the same id). */
export const jobIds = {
  chapter: (chapterId: string, version: number) => `chapter-${chapterId}-v${version}`,
  ingest: (documentId: string) => `ingest-${documentId}`,
} as const;
