import { requireAccess } from '../../domain/access.ts';
import type { Sql } from '../../sql/client.ts';
import { listChapterKeys } from '../../sql/queries/chapters.ts';
import { deleteDocument, findDocument } from '../../sql/queries/documents.ts';
import { findAccess, listMemberIds } from '../../sql/queries/members.ts';
import type { JobQueues } from '../../jobs/queues.ts';
import type { Publisher } from '../../realtime/publisher.ts';
import { notFound } from '../errors.ts';

export interface DocumentRemovalDeps {
  sql: Sql;
  queues: Pick<JobQueues, 'cancelIngest'>;
  publisher: Pick<Publisher, 'forgetDocument'>;
}

/**
 * Deletes a document (its owner only) with everything stored about it, then
 * cancels its queued ingest and drops its live state. The rows are gone
 * first, so any job still running finds nothing and stops; the clean-ups
 * after are best effort. Resolves with the users who could see it (owner
 * and members), whose document lists lost it.
 *
 * @throws AppError not_found (no access, or already deleted) or forbidden (not the owner).
 */
export async function removeDocument(deps: DocumentRemovalDeps, documentId: string, userId: string): Promise<string[]> {
  requireAccess(await findAccess(deps.sql, documentId, userId), 'own', 'Only the owner can delete a document.');
  const [chapters, document, members] = await Promise.all([
    listChapterKeys(deps.sql, documentId),
    findDocument(deps.sql, documentId),
    listMemberIds(deps.sql, documentId),
  ]);
  if (!(await deleteDocument(deps.sql, documentId))) throw notFound();
  await Promise.allSettled([
    deps.queues.cancelIngest(documentId, document?.job_id ?? '', chapters),
    deps.publisher.forgetDocument(documentId),
  ]);
  return [userId, ...members];
}
