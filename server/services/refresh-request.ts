import { randomUUID } from 'node:crypto';
import { requireAccess } from '../../domain/access.ts';
import type { Sql } from '../../sql/client.ts';
import { findAccess } from '../../sql/queries/members.ts';
import { insertOutbox } from '../../sql/queries/outbox.ts';
import { findPendingRefresh, insertRefresh, listRefreshes } from '../../sql/queries/refreshes.ts';
import { PRIORITY } from '../../jobs/contracts.ts';
import { outboxJob } from '../../jobs/outbox.ts';
import { rateLimited } from '../errors.ts';
import type { RateLimiter } from '../rate-limit.ts';

export interface RefreshRequest {
  documentId: string;
  userId: string;
  requestId?: string;
}

/**
 * Starts a manual refresh, or joins the one pending for the document
 * (`deduplicated`, not counted against the limit). A new one is counted
 * first (429 past the limit), then its row and its job's outbox row commit
 * together, so the job runs exactly when the refresh is recorded.
 *
 * @throws AppError not_found, forbidden (a viewer) or rate_limited.
 */
export async function requestRefresh(sql: Sql, limiter: RateLimiter, request: RefreshRequest): Promise<{ jobId: string; deduplicated: boolean }> {
  const { documentId, userId } = request;
  requireAccess(await findAccess(sql, documentId, userId), 'edit', 'Viewers cannot refresh a document.');
  const pending = await findPendingRefresh(sql, documentId);
  if (pending) return { jobId: pending.job_id, deduplicated: true };
  const verdict = await limiter.take(userId);
  if (!verdict.allowed) throw rateLimited(verdict.retryAfterSeconds, `Too many refreshes; try again in ${verdict.retryAfterSeconds} s.`);
  const jobId = randomUUID();
  const created = await sql.begin(async (tx) => {
    if (!(await insertRefresh(tx, { jobId, documentId, userId }))) return false;
    const payload = { documentId, userId, ...(request.requestId && { requestId: request.requestId }) };
    await insertOutbox(tx, [outboxJob(documentId, 'document.refresh', payload, { jobId, priority: PRIORITY.high })]);
    return true;
  });
  if (created) return { jobId, deduplicated: false };
  // Another request for the document won the race between the check and the insert: join it.
  const winner = await findPendingRefresh(sql, documentId);
  return winner ? { jobId: winner.job_id, deduplicated: true } : { jobId, deduplicated: false };
}

/**
 * The document's refreshes, newest first. A pending one whose job has
 * already ended is settled first, so the history never shows it pending.
 *
 * @throws AppError not_found (no access).
 */
export async function listRefreshHistory(sql: Sql, documentId: string, userId: string) {
  requireAccess(await findAccess(sql, documentId, userId), 'read');
  await findPendingRefresh(sql, documentId); // settles a pending one whose job already ended
  return listRefreshes(sql, documentId);
}
