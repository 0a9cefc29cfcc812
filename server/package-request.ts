import { randomUUID } from 'node:crypto';
import type { Sql } from '../sql/client.ts';
import { loadDocumentTexts } from '../sql/queries/chapters.ts';
import { findAccess } from '../sql/queries/members.ts';
import { insertOutbox } from '../sql/queries/outbox.ts';
import { storeEssentialPackage } from '../sql/queries/packages.ts';
import { buildEssentialPackage, type EssentialPackage } from '../jobs/package/essential.ts';
import { outboxEvent, outboxJob } from '../jobs/outbox.ts';
import { forbidden, notFound } from './errors.ts';

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
 * the full build can even start.
 *
 * @throws AppError not_found (no access) or forbidden (a viewer).
 */
export async function requestPackage(sql: Sql, request: PackageRequest): Promise<{ package: EssentialPackage; jobId: string; started: boolean }> {
  const { documentId, userId } = request;
  const access = await findAccess(sql, documentId, userId);
  if (!access) throw notFound();
  if (access === 'viewer') throw forbidden('Viewers cannot build packages.');
  const source = await loadDocumentTexts(sql, documentId);
  if (!source) throw notFound();
  const pkg = buildEssentialPackage(source, new Date());
  const sourceVersions = Object.fromEntries(source.chapters.map((c) => [c.id, c.version]));
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
