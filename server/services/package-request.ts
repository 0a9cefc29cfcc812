import { randomUUID } from 'node:crypto';
import { requireAccess } from '../../domain/access.ts';
import type { Sql } from '../../sql/client.ts';
import { listUndigestedChapters, loadPackageFacts, upsertDigests, type DigestRow } from '../../sql/queries/chapter-digests.ts';
import { findAccess } from '../../sql/queries/members.ts';
import { findPackage, reusePackageRequest, writePackageRequest } from '../../sql/queries/packages.ts';
import { loadArtifacts } from '../../sql/queries/artifacts.ts';
import { buildEssentialPackage, digestChapterSteps, type EssentialPackage, type PackageFacts } from '../../domain/package/essential.ts';
import { withFreshArtifacts } from '../../domain/package/full.ts';
import { outboxEvent, outboxJob } from '../../jobs/outbox.ts';
import type { OutboxDispatcher } from '../../jobs/outbox-dispatch.ts';
import { runInSlices, type Sliced } from '../../domain/text/slices.ts';
import { notFound, rateLimited } from '../errors.ts';
import type { RateLimiter } from '../rate-limit.ts';

export interface PackageRequest {
  documentId: string;
  userId: string;
  requestId?: string;
}

export interface PackageRequestOptions {
  /** Sends the event and the job right after the commit; without it, the relays send them. */
  outboxDispatcher?: OutboxDispatcher | undefined;
}

/**
 * Builds the essential package from stored rows (no AI, no Redis, no
 * worker), stores it, and in the same statement writes to the outbox its
 * `package.essential` event and, unless a full build is already pending, the
 * full build's job, whose id is fixed here and returned as `job_id`. The
 * event row precedes the job row, so `package.essential` is published before
 * the full build can even start. When the stored package was built from the
 * chapters' current versions, its essential part is the package this request
 * would build (but for `built_at`): one statement then reads it, keeps it,
 * settles the full build and writes the outbox (reusePackageRequest), and
 * its essential part is answered and announced again. A stored full package
 * stays what GET answers, and its build announces it again without calling
 * the model (jobs/handlers/package-build.ts). Every request is counted
 * against the user's package limit first (one refused for access counts
 * too), so a refused one writes and enqueues nothing.
 *
 * @throws AppError not_found (no access), forbidden (a viewer) or rate_limited.
 */
export async function requestPackage(
  sql: Sql,
  limiter: RateLimiter,
  request: PackageRequest,
  options: PackageRequestOptions = {},
): Promise<{ package: EssentialPackage; jobId: string; started: boolean }> {
  const { documentId, userId } = request;
  const verdict = await limiter.take(userId);
  if (!verdict.allowed) {
    // The access error still comes first: a stranger learns nothing, a viewer hears why.
    requireAccess(await findAccess(sql, documentId, userId), 'edit', VIEWER_REFUSAL);
    throw rateLimited(verdict.retryAfterSeconds, `Too many package requests; try again in ${verdict.retryAfterSeconds} s.`);
  }
  const newJobId = randomUUID();
  const job = outboxJob(documentId, 'package.build', { documentId, ...(request.requestId && { requestId: request.requestId }) }, { jobId: newJobId });
  const fastPath = options.outboxDispatcher !== undefined;
  const found = await reusePackageRequest(sql, { documentId, userId, newJobId, job, fastPath });
  requireAccess(found?.access ?? null, 'edit', VIEWER_REFUSAL);
  const { document, reused } = found!;
  if (reused) {
    options.outboxDispatcher?.dispatch(reused.outbox);
    return { package: reused.package, jobId: reused.jobId, started: reused.started };
  }
  const facts = await loadFacts(sql, document);
  const pkg = buildEssentialPackage(facts, new Date());
  const sourceVersions = Object.fromEntries(facts.chapters.map((c) => [c.id, c.version]));
  const written = await writePackageRequest(sql, {
    documentId,
    newJobId,
    store: { content: { ...pkg }, sourceVersions },
    outbox: [outboxEvent(documentId, 'package.essential', { package: { ...pkg } }), job],
    fastPath,
  });
  options.outboxDispatcher?.dispatch(written.outbox);
  return { package: pkg, jobId: written.jobId, started: written.started };
}

const VIEWER_REFUSAL = 'Viewers cannot build packages.';

/**
 * The package facts from stored rows: chapters whose current version has no
 * digest yet (new or edited since the last package) are digested first, so
 * only their text is read; everything else comes merged from PostgreSQL.
 */
async function loadFacts(sql: Sql, document: PackageFacts['document']): Promise<PackageFacts> {
  const undigested = await listUndigestedChapters(sql, document.id);
  // At most a chapter (or a few thousand characters of one) per step, the event loop running between slices: a 10,000-chapter document is digested without freezing the API.
  if (undigested.length > 0) await upsertDigests(sql, await runInSlices(digestEach(undigested, document.kind)));
  return { ...(await loadPackageFacts(sql, document.id)), document };
}

function* digestEach(chapters: { id: string; version: number; content: string }[], kind: PackageFacts['document']['kind']): Sliced<DigestRow[]> {
  const rows: DigestRow[] = [];
  for (const c of chapters) {
    rows.push({ chapterId: c.id, version: c.version, ...(yield* digestChapterSteps(c.content, kind)) });
    yield;
  }
  return rows;
}

/**
 * The latest stored package (essential until the full one replaces it), with
 * the outline and sheets replaced by any artifact refreshed since its build.
 *
 * @throws AppError not_found (no access, or no package built yet).
 */
export async function readPackage(sql: Sql, documentId: string, userId: string) {
  requireAccess(await findAccess(sql, documentId, userId), 'read');
  const [stored, artifacts] = await Promise.all([findPackage(sql, documentId), loadArtifacts(sql, documentId)]);
  if (!stored) throw notFound();
  return withFreshArtifacts(stored.content, artifacts);
}
