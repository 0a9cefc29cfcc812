import type { Job } from 'bullmq';
import type { Sql } from '../../sql/client.ts';
import { listChapterKeys } from '../../sql/queries/chapters.ts';
import { countDocumentsInFlight } from '../../sql/queries/documents.ts';
import type { Notifier } from '../../realtime/notifier.ts';
import type { Publisher } from '../../realtime/publisher.ts';
import { JOB_QUEUE, type JobPayloads } from '../contracts.ts';
import { windowFor, windowInRuns, type IngestWindows } from '../ingest-window.ts';
import type { JobQueues } from '../queues.ts';

export interface DocumentIngestDeps {
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
 * the chapter jobs release the rest (jobs/ingest-window.ts). A large
 * upload's chapter jobs each take a run of consecutive chapters. A deleted
 * document adds nothing, and neither does a re-run once the flow is in
 * (BullMQ adds a flow in one step): a window computed again could differ,
 * and one document's chain must keep one window size.
 */
export async function ingestDocument(job: Job<JobPayloads['document.ingest']>, deps: DocumentIngestDeps) {
  const { documentId, finalizeJobId, requestId, userId } = job.data;
  const [chapters, inFlight] = await Promise.all([
    listChapterKeys(deps.sql, documentId),
    deps.userWindow !== undefined && userId ? countDocumentsInFlight(deps.sql, userId) : 1,
  ]);
  if (chapters.length === 0) return { skipped: 'document_deleted' as const };
  if (await deps.queues.queue(JOB_QUEUE['document.finalize']).getJob(finalizeJobId)) return { skipped: 'already_added' as const };
  const runLength = deps.queues.runLength(chapters.length);
  const window = deps.userWindow === undefined ? undefined : windowInRuns(windowFor(deps.userWindow, inFlight), runLength);
  if (window !== undefined && window < chapters.length) await deps.windows?.prepare(documentId, chapters);
  await deps.queues.addIngestFlow({ documentId, jobId: finalizeJobId, chapters, requestId, userId, window, runLength });
  return { chapters: chapters.length, window: Math.min(window ?? chapters.length, chapters.length), chapters_per_job: runLength };
}
