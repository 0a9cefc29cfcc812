import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Access } from '../../domain/access.ts';
import type { DocumentKind, DocumentStatus } from '../../domain/vocabulary.ts';
import type { Sql, TransactionSql } from '../client.ts';
import { accessOf, memberJoin } from './members.ts';


export interface DocumentRow {
  id: string;
  owner_id: string;
  title: string;
  kind: DocumentKind;
  status: DocumentStatus;
  word_count: number;
  job_id: string;
  created_at: Date;
  updated_at: Date;
}

export interface NewChapter {
  id: string;
  index: number;
  title: string;
  content: string;
  wordCount: number;
}

export interface NewDocument {
  id: string;
  ownerId: string;
  title: string;
  kind: DocumentKind;
  wordCount: number;
  jobId: string;
  chapters: NewChapter[];
}

/** Most chapter rows one statement carries. */
const CHAPTERS_PER_STATEMENT = 2000;
/**
 * Most characters of chapter text one statement carries. postgres.js builds a
 * statement's parameters in one synchronous step, about 3 ms per MiB, so a
 * 10 MiB manuscript goes in several statements and the event loop runs between them.
 */
const CHAPTER_CHARS_PER_STATEMENT = 512 * 1024;

/**
 * Stores a document and all its chapters, atomically: one statement when
 * they fit in one (arrays through unnest), else one transaction of several,
 * pipelined: each statement is sent as soon as it is built (one per turn of
 * the event loop), without waiting for the one before it to finish, so
 * PostgreSQL inserts a batch while the next one is built and sent. On a
 * 300-chapter, 0.9 MB manuscript, that made the insert 28 ms instead of
 * 34 to 40. If one fails, the transaction is aborted, the statements after
 * it fail too, and the first failure is the one thrown.
 */
export async function insertDocument(sql: Sql | TransactionSql, doc: NewDocument): Promise<DocumentRow> {
  const [first = [], ...rest] = chapterBatches(doc.chapters);
  if (rest.length === 0) return insertDocumentWith(sql, doc, first);
  const write = async (tx: TransactionSql) => {
    const sent: Promise<unknown>[] = [];
    const send = <T>(statement: Promise<T>) => {
      // Handled now, awaited below: a failure while later statements are still being built is not unhandled.
      statement.catch(() => undefined);
      sent.push(statement);
      return statement;
    };
    const row = send(insertDocumentWith(tx, doc, first));
    for (const batch of rest) {
      await nextTurn();
      send(insertChapters(tx, doc.id, batch));
    }
    await Promise.all(sent);
    return row;
  };
  // A pool has `begin`; a transaction (a caller's) is used as it is.
  return 'begin' in sql ? ((await sql.begin(write)) as DocumentRow) : write(sql);
}

/** The chapters in consecutive batches of at most CHAPTERS_PER_STATEMENT rows and about CHAPTER_CHARS_PER_STATEMENT characters. */
function chapterBatches(chapters: NewChapter[]): NewChapter[][] {
  const batches: NewChapter[][] = [];
  let batch: NewChapter[] = [];
  let chars = 0;
  for (const chapter of chapters) {
    if (batch.length > 0 && (batch.length >= CHAPTERS_PER_STATEMENT || chars + chapter.content.length > CHAPTER_CHARS_PER_STATEMENT)) {
      batches.push(batch);
      batch = [];
      chars = 0;
    }
    batch.push(chapter);
    chars += chapter.content.length;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** The document row and the given chapters in one statement. */
async function insertDocumentWith(sql: Sql | TransactionSql, doc: NewDocument, c: NewChapter[]): Promise<DocumentRow> {
  const [row] = await sql<DocumentRow[]>`
    with document as (
      insert into documents (id, owner_id, title, kind, word_count, job_id)
      values (${doc.id}, ${doc.ownerId}, ${doc.title}, ${doc.kind}, ${doc.wordCount}, ${doc.jobId})
      returning *
    ), chapter_rows as (
      ${chapterInsert(sql, doc.id, c)}
    )
    select * from document`;
  return row!;
}

async function insertChapters(sql: TransactionSql, documentId: string, c: NewChapter[]): Promise<void> {
  await chapterInsert(sql, documentId, c);
}

/** The insert of a document's chapter rows, arrays through unnest (no parameter ceiling); a statement, or a CTE of one. */
function chapterInsert(sql: Sql | TransactionSql, documentId: string, c: NewChapter[]) {
  return sql`
    insert into chapters (id, document_id, index, title, content, word_count)
    select id, ${documentId}, index, title, content, word_count
    from unnest(
      ${sql.array(c.map((x) => x.id))}::uuid[],
      ${sql.array(c.map((x) => x.index))}::int[],
      ${sql.array(c.map((x) => x.title))}::text[],
      ${sql.array(c.map((x) => x.content))}::text[],
      ${sql.array(c.map((x) => x.wordCount))}::int[]
    ) as t(id, index, title, content, word_count)`;
}

export interface DocumentListRow extends DocumentRow {
  role: Access;
  chapter_count: number;
}

/** Documents the user owns or is a member of, newest first. */
export async function listDocumentsForUser(sql: Sql, userId: string): Promise<DocumentListRow[]> {
  return sql<DocumentListRow[]>`
    select d.*, ${accessOf(sql, userId)} as role,
           (select count(*)::int from chapters c where c.document_id = d.id) as chapter_count
    from documents d
    ${memberJoin(sql, userId)}
    where d.owner_id = ${userId} or m.user_id is not null
    order by d.created_at desc, d.id
    limit 500`;
}

export async function findDocument(sql: Sql, id: string): Promise<DocumentRow | undefined> {
  const [row] = await sql<DocumentRow[]>`select * from documents where id = ${id}`;
  return row;
}

export async function deleteDocument(sql: Sql, id: string): Promise<boolean> {
  const rows = await sql`delete from documents where id = ${id} returning id`;
  return rows.length > 0;
}

export interface DocumentCounts {
  total: number;
  completed: number;
  failed: number;
}

/**
 * Counts the document's chapters by outcome and, once every chapter has one,
 * stores the final status (`completed`, or `partial` if any failed). One statement.
 */
export async function settleDocumentStatus(
  sql: Sql,
  id: string,
): Promise<(DocumentCounts & { status: DocumentRow['status'] }) | undefined> {
  const [row] = await sql<(DocumentCounts & { status: DocumentRow['status'] })[]>`
    with counts as (
      select count(*)::int as total,
             count(*) filter (where r.status = 'completed')::int as completed,
             count(*) filter (where r.status = 'failed')::int as failed
      from chapters c left join chapter_results r on r.chapter_id = c.id and r.document_id = c.document_id
      where c.document_id = ${id}
    ), next as (
      select case when completed + failed < total then 'processing'
                  when failed > 0 then 'partial' else 'completed' end as status
      from counts
    ), updated as (
      update documents d set status = next.status, updated_at = now()
      from next where d.id = ${id} and d.status is distinct from next.status
      returning d.id
    )
    select counts.*, next.status from counts, next
    where exists (select 1 from documents where id = ${id})`;
  return row;
}

/** What one user has in flight: documents still processing, and their chapters without an outcome yet. */
export interface WorkInFlight {
  documents: number;
  chapters: number;
}

/**
 * The user's uploads still processing and their chapters still queued or
 * running, from the rows themselves (nothing to drift when a process dies).
 */
export async function countWorkInFlight(sql: Sql | TransactionSql, ownerId: string): Promise<WorkInFlight> {
  const [row] = await sql<WorkInFlight[]>`
    select count(distinct d.id)::int as documents,
           count(c.id) filter (where r.chapter_id is null or r.status not in ('completed', 'failed'))::int as chapters
    from documents d
    join chapters c on c.document_id = d.id
    left join chapter_results r on r.chapter_id = c.id and r.document_id = c.document_id
    where d.owner_id = ${ownerId} and d.status = 'processing'`;
  return row ?? { documents: 0, chapters: 0 };
}

/** Documents of the user still processing (the ingest divides the user's window among them). */
export async function countDocumentsInFlight(sql: Sql, ownerId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from documents where owner_id = ${ownerId} and status = 'processing'`;
  return row?.n ?? 0;
}
