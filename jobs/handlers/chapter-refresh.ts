import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Sql } from '../../sql/client.ts';
import { findSummaryState, recordSummaryEmbedding, upsertChapterResults, type SummaryState } from '../../sql/queries/chapter-results.ts';
import { findChapter, type ChapterRow } from '../../sql/queries/chapters.ts';
import { settleDocumentStatus } from '../../sql/queries/documents.ts';
import type { EventToPublish, Publisher } from '../../realtime/publisher.ts';
import type { AiProvider } from '../ai/provider.ts';
import { cosineSimilarity } from '../../domain/similarity.ts';
import type { JobPayloads } from '../contracts.ts';

export interface ChapterRefreshDeps {
  sql: Sql;
  publisher: Publisher;
  ai: AiProvider;
  logger: Logger;
}

/**
 * Below this cosine similarity between the old and the new summary's
 * embeddings, the chapter's meaning moved and its embedding is recomputed;
 * at or above it, the stored embedding still stands for the text.
 */
export const REEMBED_BELOW_SIMILARITY = 0.95;

/** The `chapter.refresh` job's result (its `returnvalue`): what was done, from which version, and whether the chapter was re-embedded. */
export type SummaryRefreshResult =
  | { skipped: 'chapter_deleted' | 'up_to_date' | 'superseded'; version?: number }
  | { version: number; reembedded: boolean; similarity: number | null };

/**
 * Re-summarises a chapter from its current text after edits. The new
 * summary's embedding is compared with the old summary's: only a change of
 * meaning (similarity below 0.95) pays for re-embedding the chapter. The
 * write is version-guarded, so a slower job for older text never replaces
 * it; then `chapter.status` (with the summary and its version) and
 * `artifact.refreshed` follow, in that order.
 */
export async function refreshSummary(
  job: Job<JobPayloads['chapter.refresh']>,
  deps: ChapterRefreshDeps,
  signal: AbortSignal,
): Promise<SummaryRefreshResult> {
  return resummarizeChapter({ chapterId: job.data.chapterId, attempts: job.attemptsMade + 1 }, deps, signal);
}

/** What a summary refresh needs: the chapter, which attempt this is, and whether an up-to-date summary is redone (a manual refresh). */
export interface SummaryRequest {
  chapterId: string;
  attempts: number;
  force?: boolean;
}

/** The refresh itself, shared by `chapter.refresh` and the manual `document.refresh`. */
export async function resummarizeChapter(request: SummaryRequest, deps: ChapterRefreshDeps, signal: AbortSignal): Promise<SummaryRefreshResult> {
  const chapter = await findChapter(deps.sql, request.chapterId);
  if (!chapter) return { skipped: 'chapter_deleted' };
  const before = await findSummaryState(deps.sql, chapter.id);
  if (!request.force && before?.status === 'completed' && before.chapter_version >= chapter.version && before.summary !== null) {
    return { skipped: 'up_to_date', version: before.chapter_version };
  }
  const summary = await deps.ai.summarize(chapter.content, { signal });
  const summaryEmbedding = await deps.ai.embed(summary, { signal });
  const similarity = await previousSimilarity(deps.ai, before, summaryEmbedding, signal);
  const reembedded = !before?.has_embedding || similarity === null || similarity < REEMBED_BELOW_SIMILARITY;
  const embedding = reembedded ? await deps.ai.embed(chapter.content, { signal }) : null;

  const written = await deps.sql.begin(async (tx) => {
    const rows = await upsertChapterResults(tx, [{
      chapterId: chapter.id, documentId: chapter.document_id, status: 'completed', progress: 100, summary, embedding,
      error: null, chapterVersion: chapter.version, attempts: request.attempts,
    }]);
    if (rows.size === 0) return false;
    const embeddingVersion = reembedded ? chapter.version : before!.embedding_version;
    await recordSummaryEmbedding(tx, { chapterId: chapter.id, chapterVersion: chapter.version, summaryEmbedding, embeddingVersion });
    return true;
  });
  if (!written) return { skipped: 'superseded', version: chapter.version };
  await publishRefreshed(deps, chapter, summary, before?.status !== 'completed');
  return { version: chapter.version, reembedded, similarity };
}

/** Similarity of the new summary to the stored one; null when there is nothing to compare with. */
async function previousSimilarity(ai: AiProvider, before: SummaryState | undefined, next: number[], signal: AbortSignal): Promise<number | null> {
  if (!before?.summary) return null;
  // Results written before summaries had embeddings of their own: embed the old summary once.
  const previous = before.summary_embedding ?? (await ai.embed(before.summary, { signal }));
  return previous.length === next.length ? cosineSimilarity(previous, next) : null;
}

async function publishRefreshed(deps: ChapterRefreshDeps, chapter: ChapterRow, summary: string, firstResult: boolean): Promise<void> {
  const documentId = chapter.document_id;
  const events: EventToPublish[] = [
    {
      documentId,
      name: 'chapter.status',
      payload: { chapter_id: chapter.id, index: chapter.index, status: 'completed', progress: 100, summary, version: chapter.version },
    },
    { documentId, name: 'artifact.refreshed', payload: { artifact: 'summary', chapter_id: chapter.id, version: chapter.version } },
  ];
  // The chapter's ingest job was superseded by this edit and left no result: this one may end the document.
  if (firstResult) {
    const settled = await settleDocumentStatus(deps.sql, documentId);
    if (settled && settled.status !== 'processing') {
      const { total, completed, failed, status } = settled;
      events.push({ documentId, name: 'document.progress', payload: { total, completed, failed, status } });
    }
  }
  await deps.publisher.publishMany(events);
}
