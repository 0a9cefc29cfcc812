import type { PackageStage } from '../../domain/vocabulary.ts';
import type { Sql, TransactionSql } from '../client.ts';


export interface PackageRow {
  document_id: string;
  stage: PackageStage;
  content: Record<string, unknown> & { stage: PackageStage };
  source_versions: Record<string, number>;
  full_job_id: string;
  full_pending: boolean;
  updated_at: Date;
}

/**
 * A pending full build older than this is presumed lost (its job was removed
 * or Redis lost it) and a new request starts another instead of waiting on it.
 */
export const FULL_BUILD_PRESUMED_LOST_MINUTES = 30;

/**
 * Stores the essential package in place of the document's current one and
 * settles the full build in the same statement: a build still pending is
 * reused, otherwise `newJobId` is recorded as pending. Concurrent requests
 * serialise on the row, so only one of them starts a build.
 */
export async function storeEssentialPackage(
  tx: TransactionSql,
  p: { documentId: string; content: Record<string, unknown>; sourceVersions: Record<string, number>; newJobId: string },
): Promise<{ jobId: string; started: boolean }> {
  const [row] = await tx<{ job_id: string; started: boolean }[]>`
    insert into packages as p (document_id, stage, content, source_versions, full_job_id, full_pending)
    values (${p.documentId}, 'essential', ${tx.json(p.content as never)}, ${tx.json(p.sourceVersions as never)}, ${p.newJobId}, true)
    on conflict (document_id) do update set
      stage = 'essential',
      content = excluded.content,
      source_versions = excluded.source_versions,
      updated_at = now(),
      full_job_id = case when p.full_pending and p.full_requested_at > now() - make_interval(mins => ${FULL_BUILD_PRESUMED_LOST_MINUTES})
                         then p.full_job_id else excluded.full_job_id end,
      full_requested_at = case when p.full_pending and p.full_requested_at > now() - make_interval(mins => ${FULL_BUILD_PRESUMED_LOST_MINUTES})
                               then p.full_requested_at else now() end,
      full_pending = true
    returning full_job_id as job_id, full_job_id = ${p.newJobId}::uuid as started`;
  return { jobId: row!.job_id, started: row!.started };
}

/** The document's latest package, or undefined before any. */
export async function findPackage(sql: Sql, documentId: string): Promise<PackageRow | undefined> {
  const [row] = await sql<PackageRow[]>`select * from packages where document_id = ${documentId}`;
  return row;
}

/** Whether `jobId` is still the document's pending full build (a newer request may have replaced it). */
export async function isPendingFullBuild(sql: Sql, documentId: string, jobId: string): Promise<boolean> {
  const [row] = await sql`
    select 1 from packages where document_id = ${documentId} and full_job_id = ${jobId}::uuid and full_pending`;
  return row !== undefined;
}

/** Stores the full package in place of the essential one, if `jobId` is still the build asked for. */
export async function storeFullPackage(
  tx: TransactionSql,
  p: { documentId: string; jobId: string; content: Record<string, unknown>; sourceVersions: Record<string, number> },
): Promise<boolean> {
  const rows = await tx`
    update packages set stage = 'full', content = ${tx.json(p.content as never)}, source_versions = ${tx.json(p.sourceVersions as never)},
           full_pending = false, updated_at = now()
    where document_id = ${p.documentId} and full_job_id = ${p.jobId}::uuid
    returning 1`;
  return rows.length > 0;
}

/** Ends a full build that failed for good, so the next request starts a new one. */
export async function abandonFullBuild(sql: Sql, documentId: string, jobId: string): Promise<void> {
  await sql`update packages set full_pending = false where document_id = ${documentId} and full_job_id = ${jobId}::uuid`;
}

/**
 * Stores a full package built by a manual refresh, whatever build is pending
 * (it is at least as fresh as any). A pending build still runs and replaces
 * it with its own, equally fresh, result.
 */
export async function storeRefreshedPackage(
  tx: TransactionSql,
  p: { documentId: string; jobId: string; content: Record<string, unknown>; sourceVersions: Record<string, number> },
): Promise<void> {
  await tx`
    insert into packages as p (document_id, stage, content, source_versions, full_job_id, full_pending)
    values (${p.documentId}, 'full', ${tx.json(p.content as never)}, ${tx.json(p.sourceVersions as never)}, ${p.jobId}, false)
    on conflict (document_id) do update set stage = 'full', content = excluded.content,
      source_versions = excluded.source_versions, updated_at = now()`;
}
