import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Sql } from '../../sql/client.ts';
import { storeArtifacts } from '../../sql/queries/artifacts.ts';
import { countUnfinishedChapters, loadChaptersWithSummaries } from '../../sql/queries/chapters.ts';
import { findDocument } from '../../sql/queries/documents.ts';
import { abandonFullBuild, isPendingFullBuild, settleCurrentFullBuild, storeFullPackage, type CurrentFullPackage } from '../../sql/queries/packages.ts';
import { quoteTitle, type Notifier } from '../../realtime/notifier.ts';
import type { Publisher } from '../../realtime/publisher.ts';
import type { AiProvider } from '../ai/provider.ts';
import { waitAndRetry } from './artifact-refresh.ts';
import type { JobPayloads } from '../contracts.ts';
import { buildFullPackage, withFreshArtifacts } from '../../domain/package/full.ts';

/** Thrown inside the store's transaction to roll it back when a newer build replaced this one. */
const SUPERSEDED = Symbol('superseded');

export interface PackageBuildDeps {
  sql: Sql;
  publisher: Publisher;
  ai: AiProvider;
  logger: Logger;
  notifier: Notifier;
}

/**
 * Builds the full package once every chapter has a final result (until then
 * the job goes back to delayed, spending no attempt), stores it in place of
 * the essential one together with its outline and character sheets, then
 * publishes `package.full`. The essential package's event was relayed before
 * this job was even enqueued, so `package.essential` always comes first.
 * When the stored package is already full and current (a request for an
 * unchanged document), there is nothing to build: the build ends and
 * announces that package again, with any outline or sheet refreshed since,
 * as GET answers it, and the model is not called.
 */
export async function buildPackage(
  job: Job<JobPayloads['package.build']>,
  deps: PackageBuildDeps,
  signal: AbortSignal,
  token: string | undefined,
) {
  const { documentId } = job.data;
  const jobId = job.id!;
  // The common case first, in one statement: a request for an unchanged document, whose stored package is current.
  const current = await settleCurrentFullBuild(deps.sql, documentId, jobId);
  if (current) return announceAgain(deps, documentId, current);
  if (!(await isPendingFullBuild(deps.sql, documentId, jobId))) return { skipped: 'superseded' as const };
  if ((await countUnfinishedChapters(deps.sql, documentId)) > 0) await waitAndRetry(job, token);

  const [document, chapters] = await Promise.all([findDocument(deps.sql, documentId), loadChaptersWithSummaries(deps.sql, documentId)]);
  if (!document) return { skipped: 'document_deleted' as const };
  let built: Awaited<ReturnType<typeof buildFullPackage>>;
  try {
    built = await buildFullPackage(deps.ai, { document, chapters }, signal);
  } catch (error) {
    const final = error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    // Lets the next request start a new build instead of waiting on this one.
    if (final) await abandonFullBuild(deps.sql, documentId, jobId);
    throw error;
  }
  // The package row last: an essential package request waits for its row lock, and this process runs at a lower
  // CPU priority (WORKER_NICE), so the lock is held for one statement and the commit, not for the artifacts' too.
  // A build superseded meanwhile stores nothing: its artifacts are rolled back with it.
  const stored = await deps.sql.begin(async (tx) => {
    await storeArtifacts(tx, documentId, built.artifacts);
    if (!(await storeFullPackage(tx, { documentId, jobId, content: { ...built.package }, sourceVersions: built.sourceVersions }))) throw SUPERSEDED;
    return true;
  }).catch((error: unknown) => {
    if (error === SUPERSEDED) return false;
    throw error;
  });
  if (!stored) return { skipped: 'superseded' as const };
  await deps.publisher.publish(documentId, 'package.full', { package: { ...built.package } });
  await deps.notifier.notifyDocument(documentId, {
    kind: 'package.ready',
    title: `The package of ${quoteTitle(document.title)} is ready`,
    body: `Outline, ${built.package.character_sheets.length} character sheets and key terms are built.`,
  });
  deps.logger.debug({ documentId, chapters: chapters.length }, 'full package built');
  return {
    chapters: chapters.length,
    character_sheets: built.package.character_sheets.length,
    key_terms: built.package.key_terms.length,
  };
}

/** Ends the build of an unchanged document, already settled: its stored full package is announced again, as GET answers it. */
async function announceAgain(deps: PackageBuildDeps, documentId: string, current: CurrentFullPackage) {
  await deps.publisher.publish(documentId, 'package.full', { package: { ...withFreshArtifacts(current.content, current.artifacts), stage: 'full' } });
  await deps.notifier.notifyDocument(documentId, {
    kind: 'package.ready',
    title: `The package of ${quoteTitle(current.title)} is ready`,
    body: 'Nothing changed since it was built: the stored outline, character sheets and key terms are current.',
  });
  return { unchanged: true as const };
}
