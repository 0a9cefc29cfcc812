import type { Sql } from '../client.ts';
import { hasAccess, memberJoin } from './members.ts';
import { OUTBOX_CHANNEL, writtenRows, type OutboxInsert, type WrittenOutbox } from './outbox.ts';

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
 * one round trip): compare-and-swap on `version`, history row, kept answer,
 * dirty marks, stale flags for artifacts that reach their threshold with no
 * refresh queued, the outbox rows (fixed ones first, then per stale artifact
 * its event and its refresh job), the document's word count, and a NOTIFY
 * for the relays (with `fastPath`, only when earlier rows of the document
 * are still waiting, so these must wait behind them). If the version moved on, or the user is not the owner or
 * an editor, nothing is written and null comes back. A repeated op_id racing this one fails it with a unique violation.
 *
 * Lock order, forced by the data dependencies: chapter row, dirty marks,
 * artifact rows (sorted), document row last, so it is held the shortest;
 * storeArtifacts takes dirty marks before artifact rows as well.
 *
 * Longer than ~60 lines on purpose: it is one SQL statement (a chain of CTEs), so a save is one round trip
 * and one snapshot; split into several statements, the locks above would be taken across round trips.
 */
export async function applySaveStatement(sql: Sql, s: SaveStatement): Promise<SavedChapter | null> {
  const fixed = s.outbox;
  const m = s.marks;
  const [row] = await sql<(Omit<SavedChapter, 'outbox'> & WrittenOutbox)[]>`
    with saved as (
      update chapters c
      set content = ${s.content}, word_count = ${s.wordCount}, version = c.version + 1, updated_at = ${s.savedAt}
      from chapters old
      where c.id = ${s.chapterId} and c.version = ${s.baseVersion} and old.id = c.id
        and exists (select 1 from documents d ${memberJoin(sql, s.userId)}
                    where d.id = c.document_id and ${hasAccess(sql, s.userId, 'edit')})
      returning c.id, c.version, old.word_count as previous_word_count
    ), history as (
      insert into chapter_versions (chapter_id, version, content, word_count, saved_by, op_id, created_at)
      select id, version, ${s.content}, ${s.wordCount}, ${s.userId}, ${s.opId}, ${s.savedAt} from saved
    ), kept as (
      insert into autosave_ops (user_id, op_id, chapter_id, status, body, request_hash)
      select ${s.userId}, ${s.opId}, id, 200, ${sql.json(s.answer as never)}, decode(${s.requestHash}, 'hex') from saved
    ), candidates as (
      select * from unnest(
        ${sql.array(m.map((x) => x.kind))}::text[], ${sql.array(m.map((x) => x.name))}::text[],
        ${sql.array(m.map((x) => x.threshold))}::int[],
        ${sql.array(m.map((x) => x.staleEvent.name))}::text[], ${sql.array(m.map((x) => JSON.stringify(x.staleEvent.payload)))}::text[],
        ${sql.array(m.map((x) => x.refreshJob.name))}::text[], ${sql.array(m.map((x) => JSON.stringify(x.refreshJob.payload)))}::text[],
        ${sql.array(m.map((x) => JSON.stringify(x.refreshJob.options ?? {})))}::text[]
      ) as t(kind, name, threshold, stale_name, stale_event, job_name, job_payload, job_options)
    ), marked as (
      insert into artifact_dirty as d (document_id, kind, name, chapter_id, version)
      select ${s.documentId}, c.kind, c.name, saved.id, saved.version from saved, candidates c
      on conflict (document_id, kind, name, chapter_id) do update set version = greatest(d.version, excluded.version)
      returning kind, name
    ), counts as (
      -- The snapshot cannot see this statement's own mark, hence + 1.
      select c.*, (select count(*) from artifact_dirty d
                    where d.document_id = ${s.documentId} and d.kind = c.kind and d.name = c.name
                      and d.chapter_id <> ${s.chapterId})::int + 1 as dirty_count
      from marked join candidates c using (kind, name)
    ), flagged as (
      insert into artifacts as a (document_id, kind, name, refresh_pending)
      select ${s.documentId}, kind, name, true from counts where dirty_count >= threshold
      order by kind, name
      on conflict (document_id, kind, name) do update set refresh_pending = true where not a.refresh_pending
      returning kind, name
    ), rows as (
      select u.ord, u.kind, u.name, u.payload::jsonb as payload, u.options::jsonb as options
      from saved, unnest(
        ${sql.array(fixed.map((r) => r.kind))}::text[], ${sql.array(fixed.map((r) => r.name))}::text[],
        ${sql.array(fixed.map((r) => JSON.stringify(r.payload)))}::text[], ${sql.array(fixed.map((r) => JSON.stringify(r.options ?? {})))}::text[]
      ) with ordinality as u(kind, name, payload, options, ord)
      union all
      -- Per stale artifact, its event then its refresh job, after the fixed rows.
      select 1000 + 2 * row_number() over (order by c.kind, c.name) + side.n, side.kind, side.name, side.payload, side.options
      from counts c join flagged f using (kind, name)
      cross join lateral (values
        (0, 'event', c.stale_name, c.stale_event::jsonb || jsonb_build_object('dirty_count', c.dirty_count), '{}'::jsonb),
        (1, 'job', c.job_name, c.job_payload::jsonb, c.job_options::jsonb)
      ) as side(n, kind, name, payload, options)
    ), queued as (
      insert into outbox (document_id, kind, name, payload, options)
      select ${s.documentId}, kind, name, payload, options from rows order by ord
      returning id, document_id, kind, name, payload, options, attempts
    ), words as (
      update documents d set word_count = greatest(d.word_count + ${s.wordCount} - saved.previous_word_count, 0), updated_at = ${s.savedAt}
      from saved
      where d.id = ${s.documentId} and (select count(*) from queued) >= 0
      returning d.id
    ), waiting as (
      -- Rows committed before this statement; its own are not in its snapshot.
      select not exists (select 1 from outbox o where o.document_id = ${s.documentId}) as clear
    )
    select saved.version, (select count(*) from flagged)::int as stale, (select count(*) from words) as documents,
           ${writtenRows(sql, 'queued')} as rows, waiting.clear,
           case when not (waiting.clear and ${s.fastPath ?? false}) then pg_notify(${OUTBOX_CHANNEL}, '') end
    from saved, waiting`;
  return row ? { version: row.version, stale: row.stale, outbox: { rows: row.rows, clear: row.clear } } : null;
}
