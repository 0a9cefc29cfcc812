import type { RedisClient } from '../realtime/redis-client.ts';
import type { Logger } from 'pino';
import type { Sql } from '../sql/client.ts';
import { upsertChapterResults, type ChapterResultRow } from '../sql/queries/chapter-results.ts';
import { readProgressCounts } from '../sql/queries/document-progress.ts';
import type { EventToPublish, Publisher } from '../realtime/publisher.ts';
import { createBatchWriter, type BatchWriter } from './batch-writer.ts';
import type { JobLock } from './job-lock.ts';

/** A chapter's outcome as a worker reports it: the stored row plus what its event needs. */
export interface ChapterOutcome extends ChapterResultRow {
  status: 'completed' | 'failed';
  chapterIndex: number;
  /** The job lock the run must still hold when its batch is written; without one the row is always written. */
  lock?: JobLock;
}

export interface ResultWriterOptions {
  sql: Sql;
  /** Where the rows' job locks live (BullMQ's connection). */
  redis: RedisClient;
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
 * followed by one `document.progress` per document in the batch, with the
 * counts the database keeps as results are written (document_progress).
 * The document's closing progress event is left to its finalize job, which
 * runs after every chapter job has finished, on whichever worker process.
 *
 * A row whose run lost its job lock (stalled, and run again elsewhere) is
 * neither written nor published: the batch checks every row's lock in one
 * MGET right before its upsert, instead of each job asking Redis on its own.
 */
export function createResultWriter(options: ResultWriterOptions): BatchWriter<ChapterOutcome> {
  const { sql, publisher } = options;
  // Rows each batch actually wrote (a deleted chapter's row is skipped), from write to afterWrite.
  const stored = new WeakMap<ChapterOutcome[], ChapterOutcome[]>();
  return createBatchWriter<ChapterOutcome>({
    // Keyed by run: a stalled run and its re-run in this process must not merge before their locks are checked.
    key: (row) => `${row.chapterId} ${row.lock?.token ?? ''}`,
    merge: (pending, next) => (next.chapterVersion >= pending.chapterVersion ? next : pending),
    maxBatchRows: options.maxBatchRows,
    maxQueuedRows: options.maxQueuedRows,
    mode: options.mode,
    onWait: options.onWait,
    // The upsert holds the writer's single write slot; counting and publishing overlap the next upsert.
    async write(rows) {
      const current = latestPerChapter(await withLocksHeld(options.redis, rows, options.logger));
      const written = await upsertChapterResults(sql, current);
      stored.set(rows, current.filter((r) => written.has(r.chapterId)));
    },
    async afterWrite(rows) {
      const committed = stored.get(rows) ?? [];
      stored.delete(rows);
      if (committed.length === 0) return;
      const counts = await readProgressCounts(sql, [...new Set(committed.map((r) => r.documentId))]);
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

/** The rows whose runs still hold their job locks, checked in one round trip. */
async function withLocksHeld(redis: RedisClient, rows: ChapterOutcome[], logger: Logger): Promise<ChapterOutcome[]> {
  const locked = rows.filter((r) => r.lock);
  if (locked.length === 0) return rows;
  const holders = await redis.mget(locked.map((r) => r.lock!.key));
  const lost = new Set(locked.filter((r, i) => holders[i] !== r.lock!.token));
  for (const r of lost) {
    logger.warn({ chapterId: r.chapterId }, 'chapter job lost its lock (stalled and run again elsewhere); this run writes nothing');
  }
  return lost.size === 0 ? rows : rows.filter((r) => !lost.has(r));
}

/**
 * One row per chapter (an upsert cannot touch a row twice): the newest
 * chapter version's, the later one on a tie. The upsert would keep the
 * newest version anyway; the others' jobs end as if written over.
 */
function latestPerChapter(rows: ChapterOutcome[]): ChapterOutcome[] {
  const latest = new Map<string, ChapterOutcome>();
  for (const r of rows) {
    const seen = latest.get(r.chapterId);
    if (!seen || r.chapterVersion >= seen.chapterVersion) latest.set(r.chapterId, r);
  }
  return latest.size === rows.length ? rows : [...latest.values()];
}
