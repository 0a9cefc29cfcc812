import type { Job } from 'bullmq';
import { failUnfinishedChapters } from '../../sql/queries/chapter-results.ts';
import { settleDocumentStatus } from '../../sql/queries/documents.ts';
import type { JobPayloads } from '../contracts.ts';
import type { DocumentIngestDeps } from './document-ingest.ts';

const UNFINISHED = 'processing ended without a result';

/** What finalizing reads and publishes through (the windows: to drop the document's frozen chapter order). */
export type DocumentFinalizeDeps = Pick<DocumentIngestDeps, 'sql' | 'publisher' | 'notifier' | 'windows'>;

/**
 * Runs after every chapter job of an upload has finished (the flow's parent),
 * so its `document.progress` with the final status comes after every
 * chapter's last `chapter.status`, whichever worker process published them.
 * A chapter whose job ended without recording an outcome (its result write
 * itself failed for good) is recorded as failed here, so the document always
 * ends.
 */
export async function finalizeDocument(job: Job<JobPayloads['document.finalize']>, deps: DocumentFinalizeDeps) {
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
