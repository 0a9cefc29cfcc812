import { ACCESS_FOR } from '../../domain/access.ts';
import type { Sql } from '../client.ts';
import { OUTBOX_CHANNEL, outboxJson, type OutboxInsert, type OutboxRow, type WrittenOutbox } from './outbox.ts';

/**
 * One accepted autosave, everything precomputed by the caller: if the
 * compare-and-swap succeeds the new version is `baseVersion + 1`, so the
 * answer, the history row and the outbox rows are known before the write.
 */
export interface SaveStatement {
  chapterId: string;
  documentId: string;
  baseVersion: number;
  content: string;
  wordCount: number;
  userId: string;
  opId: string;
  /** Hex sha256 of the request body, kept with the answer so a reuse of the op_id with another body is refused. */
  requestHash: string;
  savedAt: Date;
  /** The 200 answer kept for replays of the op_id. */
  answer: Record<string, unknown>;
  /** Outbox rows written whenever the save is accepted, in order (chapter.updated, the summary refresh). */
  outbox: OutboxInsert[];
  /** Artifacts the save makes dirty, each with its threshold and the rows to write if this save makes it stale. */
  marks: DirtyMark[];
  /** The API publishes the outbox rows itself after the commit (see insertOutbox's `fastPath`): wake the relays only when they must wait. */
  fastPath?: boolean;
}

/** An accepted save: the new version, how many artifacts it made stale, and the outbox rows it wrote. */
export interface SavedChapter {
  version: number;
  stale: number;
  outbox: WrittenOutbox;
}

/** One artifact a save touches. */
export interface DirtyMark {
  kind: 'outline' | 'character';
  name: string;
  threshold: number;
  /**
   * The event that says the artifact went stale, named by the caller from the
   * event contract (`artifact.stale`); its payload lacks `dirty_count`, which
   * the statement adds.
   */
  staleEvent: { name: string; payload: Record<string, unknown> };
  /** The refresh job (named from the job contract), its payload and options. */
  refreshJob: OutboxInsert;
}

/**
 * The whole save in one statement (atomic without an explicit transaction,
 * one round trip): a call of the `apply_autosave` function
 * (sql/migrations/0010_autosave_function.sql), which holds the save as one
 * chain of CTEs: compare-and-swap on `version`, history row, kept answer,
 * dirty marks, stale flags for artifacts that reach their threshold with no
 * refresh queued, the outbox rows, the document's word count, and a NOTIFY
 * for the relays (with `fastPath`, only when earlier rows of the document
 * are still waiting, so these must wait behind them). If the version moved
 * on, or the user is not the owner or an editor, nothing is written and null
 * comes back. A repeated op_id racing this one fails it with a unique
 * violation.
 *
 * A function because PL/pgSQL keeps the chain's plan per server connection:
 * behind a transaction-mode pooler (no prepared statements) the statement
 * itself was parsed and planned on every save, about 2 ms of each.
 */
export async function applySaveStatement(sql: Sql, s: SaveStatement): Promise<SavedChapter | null> {
  const marks = s.marks.map((m) => ({
    kind: m.kind, name: m.name, threshold: m.threshold, stale_name: m.staleEvent.name, stale_event: m.staleEvent.payload,
    job_name: m.refreshJob.name, job_payload: m.refreshJob.payload, job_options: m.refreshJob.options ?? {},
  }));
  const [row] = await sql<{ new_version: number; stale_count: number; outbox_rows: OutboxRow[]; outbox_clear: boolean }[]>`
    select new_version, stale_count, outbox_rows, outbox_clear from apply_autosave(
      ${s.chapterId}, ${s.documentId}, ${s.baseVersion}, ${s.content}, ${s.wordCount},
      ${s.userId}, ${s.opId}, ${s.requestHash}, ${s.savedAt}, ${sql.json(s.answer as never)},
      ${sql.array([...ACCESS_FOR.edit])}, ${sql.json(s.outbox.map(outboxJson) as never)}, ${sql.json(marks as never)}, ${s.fastPath ?? false}, ${OUTBOX_CHANNEL})`;
  return row ? { version: row.new_version, stale: row.stale_count, outbox: { rows: row.outbox_rows, clear: row.outbox_clear } } : null;
}
