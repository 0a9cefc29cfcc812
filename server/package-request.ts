import { randomUUID } from 'node:crypto';
import type { Sql } from '../sql/client.ts';
import { listUndigestedChapters, loadPackageFacts, upsertDigests } from '../sql/queries/chapter-digests.ts';
import { findDocument } from '../sql/queries/documents.ts';
import { findAccess } from '../sql/queries/members.ts';
import { insertOutbox } from '../sql/queries/outbox.ts';
import { storeEssentialPackage } from '../sql/queries/packages.ts';
import { isUnavailable } from '../sql/errors.ts';
import { buildEssentialPackage, digestChapter, type EssentialPackage, type PackageFacts } from '../jobs/package/essential.ts';
import { outboxEvent, outboxJob } from '../jobs/outbox.ts';
import { forbidden, notFound, rateLimited } from './errors.ts';
import type { RateLimiter, Verdict } from './rate-limit.ts';

export interface PackageRequest {
  documentId: string;
  userId: string;
  requestId?: string;
}

/**
 * Builds the essential package from stored rows (no AI, no Redis, no
 * worker), stores it, and in the same transaction writes to the outbox its
 * `package.essential` event and, unless a full build is already pending, the
 * full build's job, whose id is fixed here and returned as `job_id`. The
 * event row precedes the job row, so `package.essential` is published before
 * the full build can even start. Every request is counted against the
 * user's package limit before anything is written (a refused one writes and
 * enqueues nothing).
 *
 * @throws AppError not_found (no access), forbidden (a viewer) or rate_limited.
 */
export async function requestPackage(
  sql: Sql,
  limiter: RateLimiter,
  request: PackageRequest,
): Promise<{ package: EssentialPackage; jobId: string; started: boolean }> {
  const { documentId, userId } = request;
  const access = await findAccess(sql, documentId, userId);
  if (!access) throw notFound();
  if (access === 'viewer') throw forbidden('Viewers cannot build packages.');
  const verdict = await takeUnlessRedisIsDown(limiter, userId);
  if (!verdict.allowed) throw rateLimited(verdict.retryAfterSeconds, `Too many package requests; try again in ${verdict.retryAfterSeconds} s.`);
  const facts = await loadFacts(sql, documentId);
  const pkg = buildEssentialPackage(facts, new Date());
  const sourceVersions = Object.fromEntries(facts.chapters.map((c) => [c.id, c.version]));
  const { jobId, started } = await sql.begin(async (tx) => {
    const build = await storeEssentialPackage(tx, { documentId, content: { ...pkg }, sourceVersions, newJobId: randomUUID() });
    await insertOutbox(tx, [
      outboxEvent(documentId, 'package.essential', { package: { ...pkg } }),
      ...(build.started
        ? [outboxJob(documentId, 'package.build', { documentId, ...(request.requestId && { requestId: request.requestId }) }, { jobId: build.jobId })]
        : []),
    ]);
    return build;
  });
  return { package: pkg, jobId, started };
}

/**
 * The package facts from stored rows: chapters whose current version has no
 * digest yet (new or edited since the last package) are digested first, so
 * only their text is read; everything else comes merged from PostgreSQL.
 */
async function loadFacts(sql: Sql, documentId: string): Promise<PackageFacts> {
  const [document, undigested] = await Promise.all([findDocument(sql, documentId), listUndigestedChapters(sql, documentId)]);
  if (!document) throw notFound();
  await upsertDigests(
    sql,
    undigested.map((c) => ({ chapterId: c.id, version: c.version, ...digestChapter(c.content, document.kind) })),
  );
  const facts = await loadPackageFacts(sql, documentId);
  if (!facts) throw notFound();
  return { ...facts, document: { id: facts.document.id, title: facts.document.title, kind: facts.document.kind } };
}

/**
 * The limiter's verdict, or allowed while Redis is down: package requests are
 * answered without Redis (their event waits in the outbox, adding nothing to
 * Redis until it is back), and the limit applies again as soon as it is.
 */
async function takeUnlessRedisIsDown(limiter: RateLimiter, userId: string): Promise<Verdict> {
  try {
    return await limiter.take(userId);
  } catch (error) {
    if (isUnavailable(error)) return { allowed: true };
    throw error;
  }
}
