import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Sql } from '../../sql/client.ts';
import { storeArtifacts } from '../../sql/queries/artifacts.ts';
import { listChapterKeys, loadChaptersWithSummaries } from '../../sql/queries/chapters.ts';
import { findDocument } from '../../sql/queries/documents.ts';
import { storeRefreshedPackage } from '../../sql/queries/packages.ts';
import { settleRefresh } from '../../sql/queries/refreshes.ts';
import { quoteTitle, type Notifier } from '../../realtime/notifier.ts';
import type { Publisher } from '../../realtime/publisher.ts';
import type { AiProvider } from '../ai/provider.ts';
import type { JobPayloads } from '../contracts.ts';
import { buildFullPackage } from '../../domain/package/full.ts';
import { resummarizeChapter } from './chapter-refresh.ts';

export interface DocumentRefreshDeps {
  sql: Sql;
  publisher: Publisher;
  ai: AiProvider;
  logger: Logger;
  notifier: Notifier;
}

/** Chapters re-summarised at once by one refresh: a refresh is high priority, not the whole worker. */
const CHAPTER_PARALLELISM = 4;

/**
 * A manual refresh: re-summarises every chapter (even up-to-date ones), then
 * rebuilds the outline, the character sheets and the full package from the
 * new summaries, stores them together, and announces `artifact.refreshed`
 * and `package.full`. The abort signal is checked between steps, so a
 * cancel stops it before the next chapter; progress is reported per chapter.
 */
export async function refreshDocument(job: Job<JobPayloads['document.refresh']>, deps: DocumentRefreshDeps, signal: AbortSignal) {
  const { documentId } = job.data;
  const chapters = await listChapterKeys(deps.sql, documentId);
  if (chapters.length === 0) return { skipped: 'document_deleted' as const };
  await resummarizeAll(job, chapters, deps, signal);
  signal.throwIfAborted();

  const [document, withSummaries] = await Promise.all([findDocument(deps.sql, documentId), loadChaptersWithSummaries(deps.sql, documentId)]);
  if (!document) return { skipped: 'document_deleted' as const };
  const built = await buildFullPackage(deps.ai, { document, chapters: withSummaries }, signal);
  signal.throwIfAborted();
  // Artifacts, then the package row, the order package builds take their locks in (jobs/handlers/package-build.ts).
  await deps.sql.begin(async (tx) => {
    await storeArtifacts(tx, documentId, built.artifacts);
    await storeRefreshedPackage(tx, { documentId, jobId: job.id!, content: { ...built.package }, sourceVersions: built.sourceVersions });
    await settleRefresh(tx, job.id!, 'completed');
  });
  await deps.publisher.publishMany([
    { documentId, name: 'artifact.refreshed', payload: { artifact: 'outline' } },
    ...built.package.character_sheets.map((s) => ({ documentId, name: 'artifact.refreshed' as const, payload: { artifact: 'character' as const, name: s.name } })),
    { documentId, name: 'package.full', payload: { package: { ...built.package } } },
  ]);
  await deps.notifier.notifyDocument(documentId, {
    kind: 'refresh.done',
    title: `${quoteTitle(document.title)} is refreshed`,
    body: `Summaries of ${chapters.length} chapters, the outline, character sheets and the package were rebuilt.`,
  });
  return { chapters: chapters.length, character_sheets: built.package.character_sheets.length };
}

/**
 * Re-summarises the chapters a few at a time. The first failure stops the
 * other lanes too (their calls are aborted), so a failed attempt leaves no
 * model call running behind it.
 */
async function resummarizeAll(job: Job, chapters: { id: string }[], deps: DocumentRefreshDeps, signal: AbortSignal): Promise<void> {
  const local = new AbortController();
  const forward = () => local.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  const queue = [...chapters];
  let done = 0;
  const lane = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      local.signal.throwIfAborted();
      await resummarizeChapter({ chapterId: next.id, attempts: job.attemptsMade + 1, force: true }, deps, local.signal);
      await job.updateProgress(Math.round((++done / chapters.length) * 80));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(CHAPTER_PARALLELISM, chapters.length) }, lane));
  } catch (error) {
    local.abort(error);
    throw error;
  } finally {
    signal.removeEventListener('abort', forward);
  }
}
