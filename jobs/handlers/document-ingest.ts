import type { Job } from 'bullmq';
import type { Sql } from '../../sql/client.ts';
import { failUnfinishedChapters } from '../../sql/queries/chapter-results.ts';
import { listChapterKeys } from '../../sql/queries/chapters.ts';
import { countDocumentsInFlight, settleDocumentStatus } from '../../sql/queries/documents.ts';
import type { Notifier } from '../../realtime/notifier.ts';
import type { Publisher } from '../../realtime/publisher.ts';
import { JOB_QUEUE, type JobPayloads } from '../contracts.ts';
import { windowFor, type IngestWindows } from '../ingest-window.ts';
import type { JobQueues } from '../queues.ts';

const UNFINISHED = 'processing ended without a result';

export interface DocumentWorkerDeps {
  sql: Sql;
  publisher: Publisher;
  queues: JobQueues;
  notifier: Notifier;
  /** Chapter jobs one user keeps queued, shared among the user's documents in flight (INGEST_WINDOW_PER_USER). Unset: every chapter at once. */
  userWindow?: number;
  /** Freezes each windowed document's chapter order for its releases. */
  windows?: Pick<IngestWindows, 'prepare' | 'forget'>;
}

/**
 * Adds the document's finalize job with its first window of chapter jobs;
 * the chapter jobs release the rest (jobs/ingest-window.ts). A deleted
 * document adds nothing, and neither does a re-run once the flow is in
 * (BullMQ adds a flow in one step): a window computed again could differ,
 * and one document's chain must keep one window size.
 */
export async function ingestDocument(job: Job<JobPayloads['document.ingest']>, deps: DocumentWorkerDeps) {
  const { documentId, finalizeJobId, requestId, userId } = job.data;
  const [chapters, inFlight] = await Promise.all([
    listChapterKeys(deps.sql, documentId),
    deps.userWindow !== undefined && userId ? countDocumentsInFlight(deps.sql, userId) : 1,
  ]);
  if (chapters.length === 0) return { skipped: 'document_deleted' as const };
  if (await deps.queues.queue(JOB_QUEUE['document.finalize']).getJob(finalizeJobId)) return { skipped: 'already_added' as const };
  const window = deps.userWindow === undefined ? undefined : windowFor(deps.userWindow, inFlight);
  if (window !== undefined && window < chapters.length) await deps.windows?.prepare(documentId, chapters);
  await deps.queues.addIngestFlow({ documentId, jobId: finalizeJobId, chapters, requestId, userId, window });
  return { chapters: chapters.length, window: Math.min(window ?? chapters.length, chapters.length) };
}

/**
 * Runs after every chapter job of an upload has finished (the flow's parent),
 * so its `document.progress` with the final status comes after every
 * chapter's last `chapter.status`, whichever worker process published them.
 * A chapter whose job ended without recording an outcome (its result write
 * itself failed for good) is recorded as failed here, so the document always
 * ends.
 */
export async function finalizeDocument(job: Job<JobPayloads['document.finalize']>, deps: DocumentWorkerDeps) {
  const { documentId } = job.data;
  // Every chapter job has ended: nothing releases from the frozen order any more.
  await deps.windows?.forget(documentId);
  let settled = await settleDocumentStatus(deps.sql, documentId);
  if (!settled) return { skipped: 'document_deleted' as const };
  if (settled.status === 'processing') {
    const orphans = await failUnfinishedChapters(deps.sql, documentId, UNFINISHED);
    await deps.publisher.publishMany(
      orphans.map((o) => ({
        documentId,
        name: 'chapter.status' as const,
        payload: { chapter_id: o.id, index: o.index, version: o.version, status: 'failed' as const, progress: 0, error: UNFINISHED },
      })),
    );
    settled = (await settleDocumentStatus(deps.sql, documentId))!;
  }
  const { total, completed, failed, status } = settled;
  await deps.publisher.publish(documentId, 'document.progress', { total, completed, failed, status });
  await deps.notifier.notifyDocument(documentId, {
    kind: 'document.ingested',
    title: failed === 0 ? 'Your manuscript is analysed' : 'Your manuscript is analysed, with failures',
    body: `${completed} of ${total} chapters analysed${failed > 0 ? `; ${failed} failed` : ''}.`,
  });
  return { total, completed, failed, status };
}
