import type { Sql, TransactionSql } from '../client.ts';

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

/** Most digests one statement carries. */
const DIGESTS_PER_STATEMENT = 500;
/**
 * Most characters of openings and name lists one statement carries:
 * postgres.js builds a statement's parameters in one synchronous step, and
 * the digests of a 10,000-chapter document in one statement held the event
 * loop for well over 100 ms.
 */
const DIGEST_CHARS_PER_STATEMENT = 256 * 1024;

/**
 * Stores digests, a statement per batch (the event loop runs between them);
 * a digest never replaces one of a newer version. Not one transaction: each
 * row stands alone, and a batch that fails leaves its chapters to be
 * digested again by the next package.
 */
export async function upsertDigests(sql: Sql | TransactionSql, rows: DigestRow[]): Promise<void> {
  let batch: { row: DigestRow; names: string }[] = [];
  let chars = 0;
  for (const row of rows) {
    const names = JSON.stringify(row.names);
    if (batch.length > 0 && (batch.length >= DIGESTS_PER_STATEMENT || chars + names.length + row.opening.length > DIGEST_CHARS_PER_STATEMENT)) {
      await upsertDigestBatch(sql, batch);
      batch = [];
      chars = 0;
    }
    batch.push({ row, names });
    chars += names.length + row.opening.length;
  }
  if (batch.length > 0) await upsertDigestBatch(sql, batch);
}

async function upsertDigestBatch(sql: Sql | TransactionSql, batch: { row: DigestRow; names: string }[]): Promise<void> {
  await sql`
    insert into chapter_digests as g (chapter_id, version, opening, names)
    select u.chapter_id, u.version, u.opening, u.names::jsonb
    from unnest(
      ${sql.array(batch.map((b) => b.row.chapterId))}::uuid[], ${sql.array(batch.map((b) => b.row.version))}::int[],
      ${sql.array(batch.map((b) => b.row.opening))}::text[], ${sql.array(batch.map((b) => b.names))}::text[]
    ) as u(chapter_id, version, opening, names)
    join chapters c on c.id = u.chapter_id
    on conflict (chapter_id) do update set version = excluded.version, opening = excluded.opening, names = excluded.names
    where g.version < excluded.version`;
}

export interface PackageFactsRow {
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
export async function loadPackageFacts(sql: Sql, documentId: string): Promise<PackageFactsRow> {
  const [chapters, [first], names] = await Promise.all([
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
  return { chapters, opening: first?.opening ?? '', names };
}
