import type { Sql } from '../client.ts';
import type { DocumentCounts } from './documents.ts';

/**
 * Outcome counts per document, as the triggers of 0009_document_progress.sql
 * keep them: one primary-key read per document, whatever its size. Documents
 * deleted meanwhile are absent.
 */
export async function readProgressCounts(sql: Sql, documentIds: readonly string[]): Promise<Map<string, DocumentCounts>> {
  if (documentIds.length === 0) return new Map();
  const rows = await sql<(DocumentCounts & { document_id: string })[]>`
    select document_id, total, completed, failed
    from document_progress where document_id = any(${sql.array([...documentIds])}::uuid[])`;
  return new Map(rows.map(({ document_id, ...counts }) => [document_id, counts]));
}
