import { randomUUID } from 'node:crypto';
import { requireAccess } from '../../domain/access.ts';
import type { Sql } from '../../sql/client.ts';
import { listUndigestedChapters, loadPackageFacts, upsertDigests, type DigestRow } from '../../sql/queries/chapter-digests.ts';
import { findAccess } from '../../sql/queries/members.ts';
import { findPackage, findPackageRequest, writePackageRequest } from '../../sql/queries/packages.ts';
import { loadArtifacts } from '../../sql/queries/artifacts.ts';
import { buildEssentialPackage, digestChapterSteps, type EssentialPackage, type PackageFacts } from '../../domain/package/essential.ts';
import { essentialOf, withFreshArtifacts, type FullPackage } from '../../domain/package/full.ts';
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
 * would build (but for `built_at`): it is kept, its essential part answered
 * and announced again, and only the full build is settled. A stored full
 * package stays what GET answers, and its build announces it again without
 * calling the model (jobs/handlers/package-build.ts). Every request is counted against the
 * user's package limit (as the access is read, so one refused for access
 * counts too) before anything is written (a refused one writes and enqueues
 * nothing).
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
  // Side by side, one round trip the shorter: the read and the count. A request refused for access is
  // counted too (every request is); the access error still comes first.
  const [found, verdict] = await Promise.all([findPackageRequest(sql, documentId, userId), limiter.take(userId)]);
  requireAccess(found?.access ?? null, 'edit', 'Viewers cannot build packages.');
  if (!verdict.allowed) throw rateLimited(verdict.retryAfterSeconds, `Too many package requests; try again in ${verdict.retryAfterSeconds} s.`);
  const { document, stored } = found!;
  const reused = stored && await storePackage(sql, request, options, {
    pkg: stored.stage === 'essential' ? stored.content as unknown as EssentialPackage : essentialOf(stored.content as unknown as FullPackage),
    store: { keep: stored.version },
  });
  if (reused) return reused;
  const facts = await loadFacts(sql, document);
  const pkg = buildEssentialPackage(facts, new Date());
  const sourceVersions = Object.fromEntries(facts.chapters.map((c) => [c.id, c.version]));
  return (await storePackage(sql, request, options, { pkg, store: { sourceVersions } }))!;
}

/**
 * One statement: the package stored (or the stored one kept, as long as it is
 * still the version read; undefined when it is not), the full build settled,
 * the event and the build's job written to the outbox; then the fast path.
 */
async function storePackage(
  sql: Sql,
  request: PackageRequest,
  options: PackageRequestOptions,
  p: { pkg: EssentialPackage; store: { sourceVersions: Record<string, number> } | { keep: string } },
): Promise<{ package: EssentialPackage; jobId: string; started: boolean } | undefined> {
  const { documentId } = request;
  const { pkg } = p;
  const newJobId = randomUUID();
  const written = await writePackageRequest(sql, {
    documentId,
    newJobId,
    store: 'keep' in p.store ? p.store : { ...p.store, content: { ...pkg } },
    outbox: [
      outboxEvent(documentId, 'package.essential', { package: { ...pkg } }),
      outboxJob(documentId, 'package.build', { documentId, ...(request.requestId && { requestId: request.requestId }) }, { jobId: newJobId }),
    ],
    fastPath: options.outboxDispatcher !== undefined,
  });
  if (!written) return undefined;
  options.outboxDispatcher?.dispatch(written.outbox);
  return { package: pkg, jobId: written.jobId, started: written.started };
}

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
