import type { Sql, TransactionSql } from '../client.ts';
import type { DocumentRow } from './documents.ts';

/** A capitalised word's use in a chapter (domain/text/characters.ts NameStat). */
export interface NameStatRow {
  name: string;
  total: number;
  mid: number;
  lower: boolean;
}

export interface DigestRow {
  chapterId: string;
  version: number;
  opening: string;
  names: NameStatRow[];
}

/** Chapters of the document with no digest of their current version, with their text. */
export async function listUndigestedChapters(sql: Sql, documentId: string): Promise<{ id: string; version: number; content: string }[]> {
  return sql<{ id: string; version: number; content: string }[]>`
    select c.id, c.version, c.content
    from chapters c left join chapter_digests g on g.chapter_id = c.id and g.version = c.version
    where c.document_id = ${documentId} and g.chapter_id is null`;
}

/** Stores digests in one statement; a digest never replaces one of a newer version. */
export async function upsertDigests(sql: Sql | TransactionSql, rows: DigestRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    insert into chapter_digests as g (chapter_id, version, opening, names)
    select u.chapter_id, u.version, u.opening, u.names::jsonb
    from unnest(
      ${sql.array(rows.map((r) => r.chapterId))}::uuid[], ${sql.array(rows.map((r) => r.version))}::int[],
      ${sql.array(rows.map((r) => r.opening))}::text[], ${sql.array(rows.map((r) => JSON.stringify(r.names)))}::text[]
    ) as u(chapter_id, version, opening, names)
    join chapters c on c.id = u.chapter_id
    on conflict (chapter_id) do update set version = excluded.version, opening = excluded.opening, names = excluded.names
    where g.version < excluded.version`;
}

export interface PackageFactsRow {
  document: DocumentRow;
  chapters: { id: string; index: number; title: string; word_count: number; version: number }[];
  opening: string;
  names: NameStatRow[];
}

/**
 * Everything the essential package needs, from rows alone: the chapter list,
 * the first non-empty opening, and the name statistics of every chapter's
 * current digest merged by PostgreSQL (a few hundred rows, not the text).
 * Sent together, in one round trip's time (pipelined).
 */
export async function loadPackageFacts(sql: Sql, documentId: string): Promise<PackageFactsRow | undefined> {
  const [[document], chapters, [first], names] = await Promise.all([
    sql<DocumentRow[]>`select * from documents where id = ${documentId}`,
    sql<PackageFactsRow['chapters']>`
      select id, index, title, word_count, version from chapters where document_id = ${documentId} order by index`,
    sql<{ opening: string }[]>`
      select g.opening from chapters c join chapter_digests g on g.chapter_id = c.id and g.version = c.version
      where c.document_id = ${documentId} and g.opening <> '' order by c.index limit 1`,
    sql<NameStatRow[]>`
      select n.name, sum(n.total)::int as total, sum(n.mid)::int as mid, bool_or(n.lower) as lower
      from chapters c join chapter_digests g on g.chapter_id = c.id and g.version = c.version,
           jsonb_to_recordset(g.names) as n(name text, total int, mid int, lower boolean)
      where c.document_id = ${documentId}
      group by n.name`,
  ]);
  return document && { document, chapters, opening: first?.opening ?? '', names };
}
