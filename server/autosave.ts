import type { Sql, TransactionSql } from '../sql/client.ts';
import { isPgError } from '../sql/errors.ts';
import { markArtifactsDirty, markRefreshPending, type ArtifactKey, type DirtyCount } from '../sql/queries/artifacts.ts';
import { findAutosaveContext, findAutosaveOp, insertAutosaveOp, type AutosaveAnswer } from '../sql/queries/autosave-ops.ts';
import { insertChapterVersion } from '../sql/queries/chapter-versions.ts';
import { compareAndSwapChapter, findChapterHead, type SavedChapter } from '../sql/queries/chapters.ts';
import { addDocumentWords, type DocumentKind } from '../sql/queries/documents.ts';
import { insertOutbox, type OutboxInsert } from '../sql/queries/outbox.ts';
import { outboxEvent, outboxJob, summaryRefreshJob } from '../jobs/outbox.ts';
import { extractCharacters } from '../jobs/text/characters.ts';
import type { FreshnessConfig } from './config.ts';
import { forbidden, notFound } from './errors.ts';
import { countWords } from './split-chapters.ts';

export type { AutosaveAnswer } from '../sql/queries/autosave-ops.ts';

export interface AutosaveDeps {
  sql: Sql;
  freshness: FreshnessConfig;
}

export interface AutosaveRequest {
  chapterId: string;
  userId: string;
  baseVersion: number;
  content: string;
  opId: string;
  requestId?: string;
}

/**
 * Applies one autosave. Everything it causes is decided in one PostgreSQL
 * transaction: the compare-and-swap, the history row, the answer kept for
 * replays, the dirty marks, and the outbox rows for `chapter.updated`, the
 * debounced summary refresh and any artifact that just went stale. Redis is
 * not touched, so a save succeeds while Redis is down; the relay delivers the
 * rest once it is back. The same op_id again gets the first answer back.
 *
 * @throws AppError not_found (no access) or forbidden (a viewer).
 */
export async function applyAutosave(deps: AutosaveDeps, request: AutosaveRequest): Promise<AutosaveAnswer> {
  const context = await findAutosaveContext(deps.sql, request.chapterId, request.userId, request.opId);
  if (!context) throw notFound();
  if (context.access === 'viewer') throw forbidden('Viewers cannot edit this document.');
  if (context.answer) return context.answer;
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.sql.begin((tx) => saveInTransaction(tx, deps.freshness, request, context.kind));
    } catch (error) {
      // A concurrent request with the same op_id committed first: answer as it did.
      if (isPgError(error, 'uniqueViolation', 'autosave_ops_pkey')) {
        const replay = await findAutosaveOp(deps.sql, request.userId, request.opId);
        if (replay) return replay;
      }
      // Saves lock rows in one order, but a rare crossing with a package build may still deadlock: nothing was written, so try again.
      const transient = isPgError(error, 'deadlockDetected') || isPgError(error, 'serializationFailure');
      if (!transient || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

/** Transaction attempts per save when PostgreSQL reports a deadlock. */
const MAX_ATTEMPTS = 3;

async function saveInTransaction(
  tx: TransactionSql,
  freshness: FreshnessConfig,
  request: AutosaveRequest,
  kind: DocumentKind,
): Promise<AutosaveAnswer> {
  const { chapterId, userId, opId, content } = request;
  const wordCount = countWords(content);
  const saved = await compareAndSwapChapter(tx, { id: chapterId, baseVersion: request.baseVersion, content, wordCount });
  if (!saved) {
    const head = await findChapterHead(tx, chapterId);
    if (!head) throw notFound();
    const conflict: AutosaveAnswer = {
      status: 409,
      body: {
        error: { code: 'version_conflict', message: `The chapter is at version ${head.version}, not ${request.baseVersion}; merge and save again.` },
        current: { version: head.version, content: head.content },
      },
    };
    await insertAutosaveOp(tx, { userId, opId, chapterId, ...conflict });
    return conflict;
  }
  const answer: AutosaveAnswer = { status: 200, body: { chapter: chapterView(saved) } };
  // Independent statements, sent together (postgres.js pipelines them on the transaction's connection).
  const [dirty] = await Promise.all([
    markArtifactsDirty(tx, { documentId: saved.document_id, chapterId, version: saved.version, artifacts: artifactsMentioned(content, kind) }),
    insertChapterVersion(tx, { chapterId, version: saved.version, content, wordCount, savedBy: userId, opId }),
    insertAutosaveOp(tx, { userId, opId, chapterId, ...answer }),
  ]);
  const stale = await flagStale(tx, saved.document_id, dirty, freshness);
  const outbox: OutboxInsert[] = [
    outboxEvent(saved.document_id, 'chapter.updated', { chapter_id: chapterId, version: saved.version, by: userId }),
    summaryRefreshJob({ documentId: saved.document_id, chapterId, version: saved.version }, freshness.summaryDebounceMs, request.requestId),
    ...stale.flatMap((s) => staleRows(saved.document_id, s, request.requestId)),
  ];
  // Last, so the document row (shared by every save of the document) stays locked only until the commit.
  await Promise.all([insertOutbox(tx, outbox), addDocumentWords(tx, saved.document_id, saved.word_count - saved.previous_word_count)]);
  return answer;
}

/** The outline, plus a sheet for each character the new text mentions. */
export function artifactsMentioned(content: string, kind: DocumentKind): ArtifactKey[] {
  return [{ kind: 'outline', name: '' }, ...extractCharacters(content, kind).map((c) => ({ kind: 'character' as const, name: c.name }))];
}

/** Artifacts whose dirty count reached their threshold with no refresh queued yet; flags them pending. */
async function flagStale(tx: TransactionSql, documentId: string, dirty: DirtyCount[], freshness: FreshnessConfig): Promise<DirtyCount[]> {
  const threshold = (d: DirtyCount) => (d.kind === 'outline' ? freshness.outlineThreshold : freshness.characterThreshold);
  const crossed = dirty.filter((d) => !d.refresh_pending && d.dirty_count >= threshold(d));
  if (crossed.length === 0) return [];
  const flagged = new Set((await markRefreshPending(tx, documentId, crossed)).map((k) => `${k.kind}:${k.name}`));
  return crossed.filter((d) => flagged.has(`${d.kind}:${d.name}`));
}

function staleRows(documentId: string, s: DirtyCount, requestId: string | undefined): OutboxInsert[] {
  return [
    outboxEvent(documentId, 'artifact.stale', { artifact: s.kind, ...(s.name && { name: s.name }), dirty_count: s.dirty_count }),
    outboxJob(documentId, 'artifact.refresh', { documentId, kind: s.kind, name: s.name, ...(requestId && { requestId }) }),
  ];
}

function chapterView(c: SavedChapter) {
  return {
    id: c.id,
    document_id: c.document_id,
    index: c.index,
    title: c.title,
    version: c.version,
    word_count: c.word_count,
    updated_at: c.updated_at.toISOString(),
  };
}
