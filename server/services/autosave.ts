import { createHash } from 'node:crypto';
import { requireAccess } from '../../domain/access.ts';
import type { Sql } from '../../sql/client.ts';
import { isPgError } from '../../sql/errors.ts';
import { applySaveStatement, type DirtyMark } from '../../sql/queries/autosave.ts';
import {
  findAutosaveContext, findAutosaveOp, insertAutosaveOp, type AutosaveAnswer, type AutosaveContext, type KeptAutosaveOp,
} from '../../sql/queries/autosave-ops.ts';
import { findChapterHead } from '../../sql/queries/chapters.ts';
import type { DocumentKind } from '../../domain/vocabulary.ts';
import { outboxEvent, outboxJob, summaryRefreshJob } from '../../jobs/outbox.ts';
import type { OutboxDispatcher } from '../../jobs/outbox-dispatch.ts';
import type { ArtifactStalePayload, DocumentEventName } from '../../realtime/events.ts';
import { extractCharactersInSlices } from '../../domain/text/characters.ts';
import { admitSave, type AutosaveLimits } from './autosave-limits.ts';
import type { FreshnessConfig } from '../config.ts';
import { AppError, notFound } from '../errors.ts';
import { countWords } from '../../domain/text/split-chapters.ts';

export type { AutosaveAnswer } from '../../sql/queries/autosave-ops.ts';

export interface AutosaveDeps {
  sql: Sql;
  freshness: FreshnessConfig;
  /** The largest chapter and the per-user save rate. */
  autosaveLimits: AutosaveLimits;
  /** Sends a save's outbox rows right after its commit; without it, the relays send them. */
  outboxDispatcher?: OutboxDispatcher | undefined;
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

/** What never changes about a chapter (its document, the document's kind, its index and title). */
type ChapterFacts = Pick<AutosaveContext, 'document_id' | 'kind' | 'index' | 'title'>;

/** Chapters whose facts a process keeps (about 200 bytes each). */
const KNOWN_CHAPTERS_MAX = 50_000;

export interface Autosaver {
  /**
   * Applies one autosave. Everything it causes is one PostgreSQL statement:
   * the compare-and-swap, the history row, the answer kept for replays, the
   * dirty marks, and the outbox rows for `chapter.updated`, the debounced
   * summary refresh and any artifact that just went stale. The save does not
   * wait for Redis: it succeeds while Redis is down (the rate limit lets it
   * through then). Once it commits, its events and jobs go to Redis at once
   * (outbox-dispatch.ts), or, when that fails, by the relay. The
   * same op_id with the same chapter and body gets the first answer back.
   *
   * @throws AppError not_found (no access), forbidden (a viewer), payload_too_large
   * (past MAX_CHAPTER_BYTES), rate_limited, or idempotency_mismatch (the op_id
   * answered another chapter or another body).
   */
  apply(request: AutosaveRequest): Promise<AutosaveAnswer>;
}

/**
 * The autosave of one process. It remembers each chapter's facts, so a save
 * of a known chapter is one round trip: the statement checks the user's
 * right to edit itself, and anything but success (a conflict, no access, a
 * replayed op_id) takes the careful path, which reads the context first.
 */
export function createAutosaver(deps: AutosaveDeps): Autosaver {
  const known = new Map<string, ChapterFacts>();
  return {
    async apply(incoming) {
      await admitSave(deps.autosaveLimits, incoming.userId, incoming.content);
      const request = { ...incoming, requestHash: hashRequest(incoming) };
      const facts = known.get(request.chapterId);
      if (facts) {
        const answer = await withRetries(deps, request, () => save(deps, request, facts));
        if (answer) return answer;
      }
      const found = await findAutosaveContext(deps.sql, request.chapterId, request.userId, request.opId);
      requireAccess(found?.access, 'edit', 'Viewers cannot edit this document.');
      const context = found!; // requireAccess threw when there was no row
      if (context.answer) return replay(context.answer, request);
      if (known.size >= KNOWN_CHAPTERS_MAX) known.delete(known.keys().next().value!);
      known.set(request.chapterId, { document_id: context.document_id, kind: context.kind, index: context.index, title: context.title });
      const answer = await withRetries(deps, request, () => save(deps, request, context));
      return answer ?? (await withRetries(deps, request, () => answerConflict(deps.sql, request)))!;
    },
  };
}

/** A request with the hash its kept answer is compared by. */
type HashedRequest = AutosaveRequest & { requestHash: string };

/**
 * sha256 of the canonical body: the JSON array [base_version, content], the
 * same bytes whatever the key order or spacing of the body that carried it.
 */
function hashRequest(request: AutosaveRequest): string {
  return createHash('sha256').update(JSON.stringify([request.baseVersion, request.content])).digest('hex');
}

/** The kept answer when it answered this very request; a 422 when the op_id was used for another chapter or body. */
function replay(kept: KeptAutosaveOp, request: HashedRequest): AutosaveAnswer {
  // Uuids come back from PostgreSQL in lower case; the path may carry them in any case.
  const sameChapter = kept.chapter_id === request.chapterId.toLowerCase();
  const sameBody = kept.request_hash === null || kept.request_hash === request.requestHash;
  if (!sameChapter || !sameBody) {
    throw new AppError(
      'idempotency_mismatch',
      `op_id "${request.opId}" was already used for ${sameChapter ? 'another body' : 'another chapter'}; send each new save with a new op_id.`,
      { op_id: request.opId, reused_for: sameChapter ? 'body' : 'chapter' },
    );
  }
  return { status: kept.status, body: kept.body };
}

/** Runs one save attempt: a racing duplicate op_id gets its first answer (or a 422); a deadlock is tried again. */
async function withRetries(
  deps: AutosaveDeps,
  request: HashedRequest,
  attempt: () => Promise<AutosaveAnswer | null>,
): Promise<AutosaveAnswer | null> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (isPgError(error, 'uniqueViolation', 'autosave_ops_pkey')) {
        const kept = await findAutosaveOp(deps.sql, request.userId, request.opId);
        if (kept) return replay(kept, request);
      }
      const transient = isPgError(error, 'deadlockDetected') || isPgError(error, 'serializationFailure');
      if (!transient || n >= MAX_ATTEMPTS) throw error;
    }
  }
}

/** The save statement; null when nothing was written (the version moved on, or the user may not edit). */
async function save(deps: AutosaveDeps, request: HashedRequest, facts: ChapterFacts): Promise<AutosaveAnswer | null> {
  const { chapterId, userId, content, baseVersion } = request;
  const documentId = facts.document_id;
  const version = baseVersion + 1;
  const wordCount = countWords(content);
  const savedAt = new Date();
  const answer: AutosaveAnswer = {
    status: 200,
    body: {
      chapter: { id: chapterId, document_id: documentId, index: facts.index, title: facts.title, version, word_count: wordCount, updated_at: savedAt.toISOString() },
    },
  };
  const saved = await applySaveStatement(deps.sql, {
    chapterId, documentId, baseVersion, content, wordCount, userId, opId: request.opId, requestHash: request.requestHash, savedAt, answer: answer.body,
    outbox: [
      outboxEvent(documentId, 'chapter.updated', { chapter_id: chapterId, version, by: userId }),
      summaryRefreshJob({ documentId, chapterId, version }, deps.freshness.summaryDebounceMs, request.requestId),
    ],
    marks: await dirtyMarks(documentId, content, facts.kind, deps.freshness, request.requestId),
    fastPath: deps.outboxDispatcher !== undefined,
  });
  if (!saved) return null;
  // Started before the answer goes out, not awaited: the save answers whatever Redis does.
  deps.outboxDispatcher?.dispatch(saved.outbox);
  return answer;
}

/** The 409 with the chapter's current version and text, kept like any answer. */
async function answerConflict(sql: Sql, request: HashedRequest): Promise<AutosaveAnswer> {
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
    await insertAutosaveOp(tx, { userId: request.userId, opId: request.opId, chapterId: request.chapterId, requestHash: request.requestHash, ...conflict });
    return conflict;
  }) as Promise<AutosaveAnswer>;
}

/**
 * The outline plus a sheet per character the new text mentions, each with its threshold and its stale rows.
 * The character scan runs in slices: a chapter of MAX_CHAPTER_BYTES takes it hundreds of milliseconds.
 */
async function dirtyMarks(documentId: string, content: string, kind: DocumentKind, freshness: FreshnessConfig, requestId?: string): Promise<DirtyMark[]> {
  const characters = await extractCharactersInSlices(content, kind);
  const artifacts = [{ kind: 'outline' as const, name: '' }, ...characters.map((c) => ({ kind: 'character' as const, name: c.name }))];
  return artifacts.map((a) => {
    // The statement adds dirty_count, the one field only it knows.
    const stalePayload: Omit<ArtifactStalePayload, 'dirty_count'> = { artifact: a.kind, ...(a.name && { name: a.name }) };
    return {
      ...a,
      threshold: a.kind === 'outline' ? freshness.outlineThreshold : freshness.characterThreshold,
      staleEvent: { name: 'artifact.stale' satisfies DocumentEventName, payload: { ...stalePayload } },
      refreshJob: outboxJob(documentId, 'artifact.refresh', { documentId, kind: a.kind, name: a.name, ...(requestId && { requestId }) }),
    };
  });
}
