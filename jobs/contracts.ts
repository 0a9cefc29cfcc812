/**
 * Every job Herald runs, its queue and its payload. Payloads are ids plus
 * small JSON; handlers re-read rows. `enqueue` is typed against this table
 * and the worker's handler table must cover it (`satisfies Record<JobName, …>`).
 */

/** BullMQ queue names (the configured prefix goes in front of every key). */
export const QUEUES = {
  chapters: 'chapters',
  documents: 'documents',
  /** Document-wide AI work: full packages, outline and character sheet refreshes. */
  artifacts: 'artifacts',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface JobPayloads {
  /**
   * Summarise and embed one chapter version, or a run of consecutive
   * chapters of a large upload (`run`, every chapter of the job in order;
   * `chapterId` and `version` are then its first). `window`: the job's first
   * chapter is the `position`th of its upload (0-based, in chapter order)
   * and the job releases the run `size` positions later when it starts
   * (jobs/ingest-window.ts).
   */
  'chapter.process': {
    documentId: string;
    chapterId: string;
    version: number;
    run?: ChapterKey[];
    requestId?: string;
    userId?: string;
    window?: { position: number; size: number };
  };
  /** Fans an upload out into one job per chapter plus its finalize job (kept off the upload's request path). */
  'document.ingest': { documentId: string; finalizeJobId: string; requestId?: string; userId?: string };
  /** Runs once every chapter job of an upload has finished: settles the document's final status. */
  'document.finalize': { documentId: string; requestId?: string; userId?: string };
  /**
   * Re-summarise a chapter after edits, with its latest text (debounced per
   * chapter); re-embeds only when the summary's meaning moved. `version` is
   * the save that asked for it; the handler reads the current one.
   */
  'chapter.refresh': { documentId: string; chapterId: string; version: number; requestId?: string };
  /** Rebuild one stale artifact: the outline (`name` '') or one character's sheet. */
  'artifact.refresh': { documentId: string; kind: ArtifactKind; name: string; requestId?: string };
  /** Build the full package (outline, summaries, character sheets, key terms) once every chapter has a result. */
  'package.build': { documentId: string; requestId?: string; userId?: string };
  /**
   * A manual refresh (POST /api/documents/:id/refresh): re-summarises every
   * chapter, then rebuilds the outline, character sheets and full package.
   * Its job id is the refresh's id, returned as `job_id`.
   */
  'document.refresh': { documentId: string; userId: string; requestId?: string };
  /**
   * Two job schedulers run it. `trim` (the default): deletes old finished
   * `jobs` rows and trims BullMQ's completed and failed sets. `reconcile`:
   * brings rows left open by a process that died before recording its
   * job's state in line with the job's state in BullMQ.
   */
  'jobs.housekeeping': { task?: 'trim' | 'reconcile' };
}

/** A chapter version, as a chapter job names it. */
export interface ChapterKey {
  id: string;
  version: number;
}

/** Artifacts that span chapters and go stale with edits. */
export type ArtifactKind = 'outline' | 'character';

export type JobName = keyof JobPayloads;

/** Which queue each job runs on. */
export const JOB_QUEUE = {
  'chapter.process': QUEUES.chapters,
  'document.ingest': QUEUES.documents,
  'document.finalize': QUEUES.documents,
  'chapter.refresh': QUEUES.chapters,
  'artifact.refresh': QUEUES.artifacts,
  'package.build': QUEUES.artifacts,
  'document.refresh': QUEUES.artifacts,
  'jobs.housekeeping': QUEUES.documents,
} as const satisfies Record<JobName, QueueName>;

/**
 * Named priorities (BullMQ: lower number runs first): `urgent` for a summary
 * refresh after an edit (the writer is looking), `high` for a manual refresh,
 * `normal` for ingest and packages asked for, `low` for outline and
 * character sheets gone stale, and cleanup.
 */
export const PRIORITY = { urgent: 1, high: 2, normal: 5, low: 10 } as const;
export type PriorityName = keyof typeof PRIORITY;

/** Deterministic job ids make enqueueing idempotent (BullMQ ignores a second add with the same id). */
export const jobIds = {
  chapter: (chapterId: string, version: number) => `chapter-${chapterId}-v${version}`,
  /** A run of `count` chapters starting at the given chapter version (a large upload's chapter job). */
  run: (chapterId: string, version: number, count: number) => `chapters-${chapterId}-v${version}-n${count}`,
  ingest: (documentId: string) => `ingest-${documentId}`,
  /** A job enqueued by the outbox relay: the row id, so relaying a row twice adds it once. */
  outbox: (rowId: string | number) => `outbox-${rowId}`,
} as const;

const CHAPTER_JOB_ID = /^chapter-([0-9a-f-]{36})-v\d+$/;

/** The chapter a `jobIds.chapter` id names, or null for any other job. */
export function chapterOfJobId(bullId: string): string | null {
  return CHAPTER_JOB_ID.exec(bullId)?.[1] ?? null;
}

/**
 * Below this many chapters per job a document keeps one job per chapter:
 * a document is split into at least this many jobs, so its chapters still
 * spread over every worker slot and process.
 */
export const MIN_JOBS_PER_DOCUMENT = 16;

/**
 * Chapters per chapter job for a document of `chapterCount` chapters: at
 * most `maxPerJob` (CHAPTERS_PER_JOB), and 1 for a document of fewer than
 * 2 × MIN_JOBS_PER_DOCUMENT chapters.
 */
export function runLengthFor(chapterCount: number, maxPerJob: number): number {
  return Math.max(1, Math.min(maxPerJob, Math.floor(chapterCount / MIN_JOBS_PER_DOCUMENT)));
}

/**
 * The id and payload fields of the chapter job over `run` (consecutive
 * chapters of one upload, in order): a run of one is a plain chapter job,
 * whose id names its chapter (`chapterOfJobId`).
 */
export function chapterJobOf(run: readonly ChapterKey[]): { jobId: string; fields: Pick<JobPayloads['chapter.process'], 'chapterId' | 'version' | 'run'> } {
  const first = run[0];
  if (!first) throw new Error('a chapter job needs at least one chapter');
  const fields = { chapterId: first.id, version: first.version };
  if (run.length === 1) return { jobId: jobIds.chapter(first.id, first.version), fields };
  return { jobId: jobIds.run(first.id, first.version, run.length), fields: { ...fields, run: run.map(({ id, version }) => ({ id, version })) } };
}

/** BullMQ deduplication ids (one pending job per key). */
export const dedupIds = {
  /** One pending summary refresh per chapter. */
  summary: (chapterId: string) => `summary-${chapterId}`,
} as const;
