import type { Sql } from '../sql/client.ts';
import { isPgError } from '../sql/errors.ts';
import { applySaveStatement, type DirtyMark } from '../sql/queries/autosave.ts';
import { findAutosaveContext, findAutosaveOp, insertAutosaveOp, type AutosaveAnswer, type AutosaveContext } from '../sql/queries/autosave-ops.ts';
import { findChapterHead } from '../sql/queries/chapters.ts';
import type { DocumentKind } from '../sql/queries/documents.ts';
import { outboxEvent, outboxJob, summaryRefreshJob } from '../jobs/outbox.ts';
import type { ArtifactStalePayload } from '../realtime/events.ts';
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

/** Attempts per save when PostgreSQL reports a deadlock (nothing was written; it is safe to go again). */
const MAX_ATTEMPTS = 3;

/**
 * Applies one autosave. Everything it causes is one PostgreSQL statement:
 * the compare-and-swap, the history row, the answer kept for replays, the
 * dirty marks, and the outbox rows for `chapter.updated`, the debounced
 * summary refresh and any artifact that just went stale. Redis is not
 * touched, so a save succeeds while Redis is down; the relay delivers the
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
      return await save(deps, request, context);
    } catch (error) {
      // A concurrent request with the same op_id committed first: answer as it did.
      if (isPgError(error, 'uniqueViolation', 'autosave_ops_pkey')) {
        const replay = await findAutosaveOp(deps.sql, request.userId, request.opId);
        if (replay) return replay;
      }
      const transient = isPgError(error, 'deadlockDetected') || isPgError(error, 'serializationFailure');
      if (!transient || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

async function save(deps: AutosaveDeps, request: AutosaveRequest, context: AutosaveContext): Promise<AutosaveAnswer> {
  const { chapterId, userId, content, baseVersion } = request;
  const documentId = context.document_id;
  const version = baseVersion + 1;
  const wordCount = countWords(content);
  const savedAt = new Date();
  const answer: AutosaveAnswer = {
    status: 200,
    body: {
      chapter: { id: chapterId, document_id: documentId, index: context.index, title: context.title, version, word_count: wordCount, updated_at: savedAt.toISOString() },
    },
  };
  const saved = await applySaveStatement(deps.sql, {
    chapterId, documentId, baseVersion, content, wordCount, userId, opId: request.opId, savedAt, answer: answer.body,
    outbox: [
      outboxEvent(documentId, 'chapter.updated', { chapter_id: chapterId, version, by: userId }),
      summaryRefreshJob({ documentId, chapterId, version }, deps.freshness.summaryDebounceMs, request.requestId),
    ],
    marks: dirtyMarks(documentId, content, context.kind, deps.freshness, request.requestId),
  });
  return saved ? answer : answerConflict(deps.sql, request);
}

/** The 409 with the chapter's current version and text, kept like any answer. */
async function answerConflict(sql: Sql, request: AutosaveRequest): Promise<AutosaveAnswer> {
  return sql.begin(async (tx) => {
    const head = await findChapterHead(tx, request.chapterId);
    if (!head) throw notFound();
    const conflict: AutosaveAnswer = {
      status: 409,
      body: {
        error: { code: 'version_conflict', message: `The chapter is at version ${head.version}, not ${request.baseVersion}; merge and save again.` },
        current: { version: head.version, content: head.content },
      },
    };
    await insertAutosaveOp(tx, { userId: request.userId, opId: request.opId, chapterId: request.chapterId, ...conflict });
    return conflict;
  }) as Promise<AutosaveAnswer>;
}

/** The outline plus a sheet per character the new text mentions, each with its threshold and its stale rows. */
function dirtyMarks(documentId: string, content: string, kind: DocumentKind, freshness: FreshnessConfig, requestId?: string): DirtyMark[] {
  const artifacts = [{ kind: 'outline' as const, name: '' }, ...extractCharacters(content, kind).map((c) => ({ kind: 'character' as const, name: c.name }))];
  return artifacts.map((a) => {
    // The statement adds dirty_count, the one field only it knows.
    const staleEvent: Omit<ArtifactStalePayload, 'dirty_count'> = { artifact: a.kind, ...(a.name && { name: a.name }) };
    return {
      ...a,
      threshold: a.kind === 'outline' ? freshness.outlineThreshold : freshness.characterThreshold,
      staleEvent: { ...staleEvent },
      refreshJob: outboxJob(documentId, 'artifact.refresh', { documentId, kind: a.kind, name: a.name, ...(requestId && { requestId }) }),
    };
  });
}
