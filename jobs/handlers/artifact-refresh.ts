import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Sql } from '../../sql/client.ts';
import { clearRefreshPending, loadDirtyVersions, storeArtifacts } from '../../sql/queries/artifacts.ts';
import { loadChaptersWithSummaries, type ChapterWithSummary } from '../../sql/queries/chapters.ts';
import type { Publisher } from '../../realtime/publisher.ts';
import type { AiProvider } from '../ai/provider.ts';
import type { JobPayloads } from '../contracts.ts';
import type { StoredArtifact } from '../../domain/package/artifacts.ts';
import { buildCharacterSheet, buildOutline } from '../../domain/package/full.ts';

export interface ArtifactRefreshDeps {
  sql: Sql;
  publisher: Publisher;
  ai: AiProvider;
}

/** How often a job waiting for other work looks again. */
export const WAIT_RECHECK_MS = 500;
/** The outline waits at most this long for the summaries of edited chapters, then builds with what exists. */
export const OUTLINE_WAIT_MAX_MS = 5 * 60_000;

/**
 * Rebuilds a stale outline or character sheet, stores it with the chapter
 * versions it came from (which clears the dirty marks it covers), and
 * announces `artifact.refreshed`. The outline is built from summaries, so it
 * first waits for the debounced summary refreshes of the edited chapters.
 */
export async function refreshArtifact(
  job: Job<JobPayloads['artifact.refresh']>,
  deps: ArtifactRefreshDeps,
  signal: AbortSignal,
  token: string | undefined,
) {
  const { documentId, kind, name } = job.data;
  const chapters = await loadChaptersWithSummaries(deps.sql, documentId);
  if (chapters.length === 0) return { skipped: 'document_deleted' as const };
  if (kind === 'outline') {
    const waiting = await summariesBehind(deps.sql, documentId, chapters);
    if (waiting > 0 && Date.now() - job.timestamp < OUTLINE_WAIT_MAX_MS) await waitAndRetry(job, token);
  }
  let artifact: StoredArtifact;
  try {
    artifact = kind === 'outline' ? await buildOutline(deps.ai, chapters, signal) : await buildCharacterSheet(deps.ai, name, chapters, signal);
  } catch (error) {
    // Failed for good: clear the flag, so the next save past the threshold queues a new refresh.
    if (error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      await clearRefreshPending(deps.sql, documentId, { kind, name });
    }
    throw error;
  }
  await deps.sql.begin((tx) => storeArtifacts(tx, documentId, [artifact]));
  await deps.publisher.publish(documentId, 'artifact.refreshed', { artifact: kind, ...(name && { name }) });
  return { kind, name, chapters: Object.keys(artifact.sourceVersions).length };
}

/** Edited chapters whose summary does not yet reflect the saved version (and has not failed for good). */
async function summariesBehind(sql: Sql, documentId: string, chapters: ChapterWithSummary[]): Promise<number> {
  const dirty = await loadDirtyVersions(sql, documentId, { kind: 'outline', name: '' });
  return chapters.filter((c) => c.status !== 'failed' && (c.summary_version ?? 0) < (dirty.get(c.id) ?? 0)).length;
}

/**
 * Puts the job back as delayed without spending an attempt (BullMQ's
 * DelayedError pattern): waiting for other work is not a failure.
 */
export async function waitAndRetry(job: Job, token: string | undefined): Promise<never> {
  await job.moveToDelayed(Date.now() + WAIT_RECHECK_MS, token);
  throw new DelayedError();
}
