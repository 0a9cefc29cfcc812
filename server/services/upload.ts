import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { DocumentKind } from '../../domain/vocabulary.ts';
import type { Sql } from '../../sql/client.ts';
import { deleteDocument, type DocumentRow, type NewChapter } from '../../sql/queries/documents.ts';
import type { JobQueues } from '../../jobs/queues.ts';
import { splitChaptersInSlices, type SplitChapter } from '../../domain/text/split-chapters.ts';
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

export interface StoredUpload {
  document: DocumentRow;
  chapters: NewChapter[];
  /** The ingest job's id, answered as `job_id`. */
  jobId: string;
}

/**
 * Splits the manuscript into chapters, stores the document and its chapters
 * (within the user's quota of queued work) and enqueues their ingest. The
 * split and the row building run in slices, so a 10 MiB upload never freezes
 * the event loop. If Redis refuses the job, the rows are removed again: the
 * client gets a 503 and nothing stays half-written.
 *
 * @throws AppError invalid_request (empty, or past MAX_CHAPTERS), payload_too_large (a chapter past maxChapterBytes),
 *   rate_limited (past the quota, nothing written).
 */
export async function storeUpload(deps: UploadDeps, input: UploadInput, by: { userId: string; requestId?: string }): Promise<StoredUpload> {
  // Stopping at the first chapter past the limit.
  const parts = await splitChaptersInSlices(input.content, input.kind, { limit: MAX_CHAPTERS });
  if (parts.length === 0) throw invalidRequest([{ field: 'content', message: 'The manuscript is empty.' }]);
  if (parts.length > MAX_CHAPTERS) {
    throw invalidRequest([{ field: 'content', message: `At most ${MAX_CHAPTERS} chapters per manuscript; this one has more.` }]);
  }
  // Sized and given ids in slices too: 10,000 chapters' worth of UUIDs and byte counts is itself tens of ms.
  const chapters = await runInSlices(chapterRows(parts, deps.maxChapterBytes));
  const documentId = randomUUID();
  const jobId = randomUUID();
  // 429 past the user's quota of queued work, with nothing written.
  const document = await insertDocumentWithinQuota(deps.sql, deps.uploadQuota, {
    id: documentId,
    ownerId: by.userId,
    title: input.title,
    kind: input.kind,
    wordCount: parts.reduce((n, p) => n + p.wordCount, 0),
    jobId,
    chapters,
  });
  // Enqueued after the commit, so no worker can look for rows that are not visible yet.
  try {
    await deps.queues.enqueueIngest({ documentId, jobId, requestId: by.requestId, userId: by.userId });
  } catch (error) {
    await deleteDocument(deps.sql, documentId).catch((err) => deps.logger.error({ err, documentId }, 'could not remove a document whose jobs were refused'));
    throw error;
  }
  // The same requestId is in the jobs' data, so the worker's lines about this upload carry it too.
  deps.logger.info({ requestId: by.requestId, documentId, jobId, chapters: chapters.length, userId: by.userId }, 'document uploaded');
  return { document, chapters, jobId };
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
