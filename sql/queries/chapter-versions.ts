import type { TransactionSql } from '../client.ts';

/** One accepted autosave, kept as history. */
export interface ChapterVersionInsert {
  chapterId: string;
  version: number;
  content: string;
  wordCount: number;
  savedBy: string;
  opId: string;
}

/** Keeps the saved text under its version, in the save's transaction. */
export async function insertChapterVersion(tx: TransactionSql, v: ChapterVersionInsert): Promise<void> {
  await tx`
    insert into chapter_versions (chapter_id, version, content, word_count, saved_by, op_id)
    values (${v.chapterId}, ${v.version}, ${v.content}, ${v.wordCount}, ${v.savedBy}, ${v.opId})`;
}
