import type { ChapterStatus, PackageStage } from '../../domain/vocabulary.ts';
import type { Sql, TransactionSql } from '../client.ts';
import type { DocumentRow } from './documents.ts';
import type { ChapterText } from '../../domain/package/full.ts';
import type { Access } from '../../domain/access.ts';
import { accessOf, memberJoin } from './members.ts';

export interface ChapterRow {
  id: string;
  document_id: string;
  index: number;
  title: string;
  content: string;
  word_count: number;
  version: number;
}

/** One chapter with the text a worker needs, or undefined when it was deleted. */
export async function findChapter(sql: Sql, id: string): Promise<ChapterRow | undefined> {
  const [row] = await sql<ChapterRow[]>`
    select id, document_id, index, title, content, word_count, version from chapters where id = ${id}`;
  return row;
}

/** Whether the chapter exists and belongs to the document (no text read). */
export async function isChapterOf(sql: Sql, chapterId: string, documentId: string): Promise<boolean> {
  const rows = await sql`select 1 from chapters where id = ${chapterId} and document_id = ${documentId}`;
  return rows.length > 0;
}

/** Many chapters in one statement (the worker's batched read); deleted ones are simply absent. */
export async function findChapters(sql: Sql, ids: readonly string[]): Promise<ChapterRow[]> {
  if (ids.length === 0) return [];
  return sql<ChapterRow[]>`
    select id, document_id, index, title, content, word_count, version
    from chapters where id = any(${sql.array([...ids])}::uuid[])`;
}

export interface ChapterWithResult {
  id: string;
  index: number;
  title: string;
  word_count: number;
  version: number;
  status: ChapterStatus;
  progress: number;
  summary: string | null;
  error: string | null;
  summary_version: number | null;
}

/** The document and its chapters with their stored results, in chapter order; undefined when missing. */
export async function loadDocumentWithChapters(
  sql: Sql,
  documentId: string,
): Promise<{ document: DocumentRow & { package_stage: PackageStage | null }; chapters: ChapterWithResult[] } | undefined> {
  const [document] = await sql<(DocumentRow & { package_stage: PackageStage | null })[]>`
    select d.*, (select p.stage from packages p where p.document_id = d.id) as package_stage
    from documents d where d.id = ${documentId}`;
  if (!document) return undefined;
  const chapters = await sql<ChapterWithResult[]>`
    select c.id, c.index, c.title, c.word_count, c.version,
           coalesce(r.status, 'queued') as status,
           coalesce(r.progress, 0)::int as progress,
           r.summary, r.error, r.chapter_version as summary_version
    -- The document on both sides: when PostgreSQL misjudges a document's size (an average over documents of very
    -- different sizes) it can hash-join with every result in the table; this lets it read only the document's.
    from chapters c left join chapter_results r on r.chapter_id = c.id and r.document_id = c.document_id
    where c.document_id = ${documentId}
    order by c.index`;
  return { document, chapters };
}

/** One chapter with its text and stored result, as a reader sees it, and the reader's access to its document. */
export interface ChapterForReader extends ChapterWithResult {
  document_id: string;
  content: string;
  updated_at: Date;
  access: Access;
}

/** The chapter with its text, or undefined when it is missing or its document is not the user's (one statement). */
export async function findChapterForReader(sql: Sql, chapterId: string, userId: string): Promise<ChapterForReader | undefined> {
  const [row] = await sql<ChapterForReader[]>`
    select c.id, c.document_id, c.index, c.title, c.content, c.word_count, c.version, c.updated_at,
           coalesce(r.status, 'queued') as status,
           coalesce(r.progress, 0)::int as progress,
           r.summary, r.error, r.chapter_version as summary_version,
           ${accessOf(sql, userId)} as access
    from chapters c
    join documents d on d.id = c.document_id
    ${memberJoin(sql, userId)}
    left join chapter_results r on r.chapter_id = c.id and r.document_id = c.document_id
    where c.id = ${chapterId} and (d.owner_id = ${userId} or m.user_id is not null)`;
  return row;
}

/** Chapter ids and versions of a document, for enqueueing and cancelling their jobs. */
export async function listChapterKeys(sql: Sql, documentId: string): Promise<{ id: string; version: number }[]> {
  return sql<{ id: string; version: number }[]>`
    select id, version from chapters where document_id = ${documentId} order by index`;
}

/** The chapter's current version and text, for a conflict answer. */
export async function findChapterHead(sql: Sql | TransactionSql, id: string): Promise<{ version: number; content: string } | undefined> {
  const [row] = await sql<{ version: number; content: string }[]>`select version, content from chapters where id = ${id}`;
  return row;
}

/** A chapter's text and version, for building packages (the shape the package builders take). */
export type { ChapterText };

/** A chapter's text with its stored summary, for the full package and the outline. */
export interface ChapterWithSummary extends ChapterText {
  status: ChapterStatus;
  summary: string | null;
  summary_version: number | null;
}

export async function loadChaptersWithSummaries(sql: Sql, documentId: string): Promise<ChapterWithSummary[]> {
  return sql<ChapterWithSummary[]>`
    select c.id, c.index, c.title, c.content, c.word_count, c.version,
           coalesce(r.status, 'queued') as status, r.summary, r.chapter_version as summary_version
    from chapters c left join chapter_results r on r.chapter_id = c.id and r.document_id = c.document_id
    where c.document_id = ${documentId}
    order by c.index`;
}

/** Chapters with no final result yet (neither completed nor failed). */
export async function countUnfinishedChapters(sql: Sql, documentId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n
    from chapters c left join chapter_results r on r.chapter_id = c.id and r.document_id = c.document_id
    where c.document_id = ${documentId} and (r.chapter_id is null or r.status not in ('completed', 'failed'))`;
  return row!.n;
}
