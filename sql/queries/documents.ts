import type { Sql, TransactionSql } from '../client.ts';

export type DocumentKind = 'book' | 'screenplay';

export interface DocumentRow {
  id: string;
  owner_id: string;
  title: string;
  kind: DocumentKind;
  status: 'processing' | 'completed' | 'partial';
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

/**
 * Stores a document and all its chapters in one statement (atomic on its
 * own, one round trip), whatever the chapter count: arrays go through unnest.
 */
export async function insertDocument(sql: Sql | TransactionSql, doc: NewDocument): Promise<DocumentRow> {
  const c = doc.chapters;
  const [row] = await sql<DocumentRow[]>`
    with document as (
      insert into documents (id, owner_id, title, kind, word_count, job_id)
      values (${doc.id}, ${doc.ownerId}, ${doc.title}, ${doc.kind}, ${doc.wordCount}, ${doc.jobId})
      returning *
    ), chapter_rows as (
      insert into chapters (id, document_id, index, title, content, word_count)
      select id, ${doc.id}, index, title, content, word_count
      from unnest(
        ${sql.array(c.map((x) => x.id))}::uuid[],
        ${sql.array(c.map((x) => x.index))}::int[],
        ${sql.array(c.map((x) => x.title))}::text[],
        ${sql.array(c.map((x) => x.content))}::text[],
        ${sql.array(c.map((x) => x.wordCount))}::int[]
      ) as t(id, index, title, content, word_count)
    )
    select * from document`;
  return row!;
}

export interface DocumentListRow extends DocumentRow {
  role: 'owner' | 'editor' | 'viewer';
  chapter_count: number;
}

/** Documents the user owns or is a member of, newest first. */
export async function listDocumentsForUser(sql: Sql, userId: string): Promise<DocumentListRow[]> {
  return sql<DocumentListRow[]>`
    select d.*, case when d.owner_id = ${userId} then 'owner' else m.role end as role,
           (select count(*)::int from chapters c where c.document_id = d.id) as chapter_count
    from documents d
    left join document_members m on m.document_id = d.id and m.user_id = ${userId}
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
      from chapters c left join chapter_results r on r.chapter_id = c.id
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

/** Outcome counts per document, for progress events after a batch. */
export async function countOutcomes(sql: Sql, documentIds: string[]): Promise<Map<string, DocumentCounts>> {
  const rows = await sql<(DocumentCounts & { document_id: string })[]>`
    select c.document_id,
           count(*)::int as total,
           count(*) filter (where r.status = 'completed')::int as completed,
           count(*) filter (where r.status = 'failed')::int as failed
    from chapters c left join chapter_results r on r.chapter_id = c.id
    where c.document_id = any(${sql.array(documentIds)}::uuid[])
    group by c.document_id`;
  return new Map(rows.map(({ document_id, ...counts }) => [document_id, counts]));
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
    left join chapter_results r on r.chapter_id = c.id
    where d.owner_id = ${ownerId} and d.status = 'processing'`;
  return row ?? { documents: 0, chapters: 0 };
}

/** Documents of the user still processing (the ingest divides the user's window among them). */
export async function countDocumentsInFlight(sql: Sql, ownerId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from documents where owner_id = ${ownerId} and status = 'processing'`;
  return row?.n ?? 0;
}
