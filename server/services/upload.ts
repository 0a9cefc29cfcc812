import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { DocumentKind } from '../../domain/vocabulary.ts';
import type { Sql } from '../../sql/client.ts';
import { deleteDocument, type DocumentRow, type NewChapter } from '../../sql/queries/documents.ts';
import type { JobQueues } from '../../jobs/queues.ts';
import { splitChapterSteps, type SplitChapter } from '../../domain/text/split-chapters.ts';
import { runInSlices, type Sliced } from '../../domain/text/slices.ts';
import { AppError, invalidRequest } from '../errors.ts';
import { insertDocumentWithinQuota, type UploadQuota } from './upload-quota.ts';

/** Chapters one upload may hold; beyond it the manuscript is refused rather than half-processed. */
export const MAX_CHAPTERS = 10_000;

export interface UploadDeps {
  sql: Sql;
  queues: JobQueues;
  logger: Logger;
  /** Largest chapter, in UTF-8 bytes (MAX_CHAPTER_BYTES): an upload may not make a chapter its writer could never save again. */
  maxChapterBytes: number;
  /** Per-user quotas of queued work; unset: none. */
  uploadQuota?: UploadQuota | undefined;
}

/** A manuscript as the client sent it, already validated. */
export interface UploadInput {
  title: string;
  kind: DocumentKind;
  content: string;
}

/** What the upload intake's costly part needs besides the manuscript (it may run on the upload thread, server/upload-thread.ts). */
export interface UploadLimits {
  maxChapterBytes: number;
  uploadQuota?: UploadQuota | undefined;
}

/** A stored upload as the response names its chapters (their texts stay in PostgreSQL). */
export interface InsertedUpload {
  document: DocumentRow;
  chapters: Pick<NewChapter, 'id' | 'index' | 'title'>[];
  /** The ingest job's id, answered as `job_id`. */
  jobId: string;
}

/**
 * Splits the manuscript into chapters and stores the document and its
 * chapters (within the user's quota of queued work). `run` runs the split
 * and the row building: `runInSlices` on the API's event loop, so a 10 MiB
 * upload never freezes it; at once on the upload thread.
 *
 * @throws AppError invalid_request (empty, or past MAX_CHAPTERS), payload_too_large (a chapter past maxChapterBytes),
 *   rate_limited (past the quota, nothing written).
 */
export async function insertUpload(
  sql: Sql,
  limits: UploadLimits,
  input: UploadInput,
  userId: string,
  run: <T>(work: Sliced<T>) => Promise<T>,
): Promise<InsertedUpload> {
  // Stopping at the first chapter past the limit.
  const parts = await run(splitChapterSteps(input.content, input.kind, { limit: MAX_CHAPTERS }));
  if (parts.length === 0) throw invalidRequest([{ field: 'content', message: 'The manuscript is empty.' }]);
  if (parts.length > MAX_CHAPTERS) {
    throw invalidRequest([{ field: 'content', message: `At most ${MAX_CHAPTERS} chapters per manuscript; this one has more.` }]);
  }
  // Sized and given ids in slices too: 10,000 chapters' worth of UUIDs and byte counts is itself tens of ms.
  const chapters = await run(chapterRows(parts, limits.maxChapterBytes));
  const jobId = randomUUID();
  // 429 past the user's quota of queued work, with nothing written.
  const document = await insertDocumentWithinQuota(sql, limits.uploadQuota, {
    id: randomUUID(),
    ownerId: userId,
    title: input.title,
    kind: input.kind,
    wordCount: parts.reduce((n, p) => n + p.wordCount, 0),
    jobId,
    chapters,
  });
  return { document, chapters: chapters.map(({ id, index, title }) => ({ id, index, title })), jobId };
}

/** Enqueues a stored upload's ingest, after the commit, so no worker can look for rows that are not visible yet; removes the rows if Redis refuses. */
export async function enqueueIngest(deps: UploadDeps, stored: InsertedUpload, by: { userId: string; requestId?: string }): Promise<InsertedUpload> {
  const { document, jobId } = stored;
  try {
    await deps.queues.enqueueIngest({ documentId: document.id, jobId, requestId: by.requestId, userId: by.userId });
  } catch (error) {
    await deleteDocument(deps.sql, document.id).catch((err) => deps.logger.error({ err, documentId: document.id }, 'could not remove a document whose jobs were refused'));
    throw error;
  }
  // The same requestId is in the jobs' data, so the worker's lines about this upload carry it too.
  deps.logger.info({ requestId: by.requestId, documentId: document.id, jobId, chapters: stored.chapters.length, userId: by.userId }, 'document uploaded');
  return stored;
}

/** The upload's chapter rows, each with its id; a 413 naming the first chapter past MAX_CHAPTER_BYTES (no upload makes a chapter its writer could never save). */
function* chapterRows(parts: SplitChapter[], maxChapterBytes: number): Sliced<NewChapter[]> {
  const rows: NewChapter[] = [];
  for (const p of parts) {
    const bytes = Buffer.byteLength(p.content);
    if (bytes > maxChapterBytes) {
      throw new AppError('payload_too_large', `Chapter ${p.index + 1} is larger than MAX_CHAPTER_BYTES (${maxChapterBytes} bytes); split it with headings or paragraph breaks.`, {
        field: 'content', chapter_index: p.index, limit_bytes: maxChapterBytes, size_bytes: bytes,
      });
    }
    rows.push({ id: randomUUID(), index: p.index, title: p.title, content: p.content, wordCount: p.wordCount });
    if (rows.length % 256 === 0) yield;
  }
  return rows;
}
