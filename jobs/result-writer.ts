import type { Logger } from 'pino';
import type { Sql } from '../sql/client.ts';
import { upsertChapterResults, type ChapterResultRow } from '../sql/queries/chapter-results.ts';
import { countOutcomes } from '../sql/queries/documents.ts';
import type { EventToPublish, Publisher } from '../realtime/publisher.ts';
import { createBatchWriter, type BatchWriter } from './batch-writer.ts';

/** A chapter's outcome as a worker reports it: the stored row plus what its event needs. */
export interface ChapterOutcome extends ChapterResultRow {
  status: 'completed' | 'failed';
  chapterIndex: number;
}

export interface ResultWriterOptions {
  sql: Sql;
  publisher: Publisher;
  logger: Logger;
  maxBatchRows: number;
  maxQueuedRows: number;
  mode?: 'group' | 'interval';
  /** Called when a job waits for room in the full writer (backpressure). */
  onWait?: () => void;
}

/**
 * The process's one writer of chapter outcomes. Each batch is one upsert;
 * only after it commits are the chapters' final `chapter.status` events
 * published (a client never sees a result the database does not hold),
 * followed by one `document.progress` per document in the batch.
 * The document's closing progress event is left to its finalize job, which
 * runs after every chapter job has finished, on whichever worker process.
 */
export function createResultWriter(options: ResultWriterOptions): BatchWriter<ChapterOutcome> {
  const { sql, publisher } = options;
  // Rows each batch actually wrote (a deleted chapter's row is skipped), from write to afterWrite.
  const stored = new WeakMap<ChapterOutcome[], ChapterOutcome[]>();
  return createBatchWriter<ChapterOutcome>({
    key: (row) => row.chapterId,
    maxBatchRows: options.maxBatchRows,
    maxQueuedRows: options.maxQueuedRows,
    mode: options.mode,
    onWait: options.onWait,
    // The upsert holds the writer's single write slot; counting and publishing overlap the next upsert.
    async write(rows) {
      const written = await upsertChapterResults(sql, rows);
      stored.set(rows, rows.filter((r) => written.has(r.chapterId)));
    },
    async afterWrite(rows) {
      const committed = stored.get(rows) ?? [];
      stored.delete(rows);
      if (committed.length === 0) return;
      const counts = await countOutcomes(sql, [...new Set(committed.map((r) => r.documentId))]);
      const events: EventToPublish[] = committed.map((r) => ({
        documentId: r.documentId,
        name: 'chapter.status',
        payload: {
          chapter_id: r.chapterId,
          index: r.chapterIndex,
          status: r.status,
          progress: r.status === 'completed' ? 100 : r.progress,
          version: r.chapterVersion,
          ...(r.summary !== null && { summary: r.summary }),
          ...(r.error !== null && { error: r.error }),
        },
      }));
      for (const [documentId, c] of counts) {
        if (c.completed + c.failed < c.total) {
          events.push({ documentId, name: 'document.progress', payload: { ...c, status: 'processing' } });
        }
      }
      await publisher.publishMany(events);
      options.logger.debug({ rows: rows.length, stored: committed.length }, 'chapter results written');
    },
  });
}
