import type { Sql } from '../client.ts';
import type { DocumentRow } from './documents.ts';

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

export interface ChapterWithResult {
  id: string;
  index: number;
  title: string;
  word_count: number;
  version: number;
  status: 'queued' | 'processing' | 'completed' | 'failed';
  progress: number;
  summary: string | null;
  error: string | null;
  summary_version: number | null;
}

/** The document and its chapters with their stored results, in chapter order; undefined when missing. */
export async function loadDocumentWithChapters(
  sql: Sql,
  documentId: string,
): Promise<{ document: DocumentRow; chapters: ChapterWithResult[] } | undefined> {
  const [document] = await sql<DocumentRow[]>`select * from documents where id = ${documentId}`;
  if (!document) return undefined;
  const chapters = await sql<ChapterWithResult[]>`
    select c.id, c.index, c.title, c.word_count, c.version,
           coalesce(r.status, 'queued') as status,
           coalesce(r.progress, 0)::int as progress,
           r.summary, r.error, r.chapter_version as summary_version
    from chapters c left join chapter_results r on r.chapter_id = c.id
    where c.document_id = ${documentId}
    order by c.index`;
  return { document, chapters };
}

/** Chapter ids and versions of a document, for enqueueing and cancelling their jobs. */
export async function listChapterKeys(sql: Sql, documentId: string): Promise<{ id: string; version: number }[]> {
  return sql<{ id: string; version: number }[]>`
    select id, version from chapters where document_id = ${documentId} order by index`;
}
