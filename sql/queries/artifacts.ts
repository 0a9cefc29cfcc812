import type { ArtifactKey, ArtifactKind, StoredArtifact } from '../../domain/package/artifacts.ts';
import type { Sql, TransactionSql } from '../client.ts';

/**
 * Stores freshly built artifacts and resets their staleness: dirty marks of
 * chapter versions the build saw are removed (a save that landed during the
 * build stays dirty), and the pending flag is cleared. Dirty marks first,
 * artifact rows second, the same order autosave locks them in, so the two
 * never deadlock.
 */
export async function storeArtifacts(tx: TransactionSql, documentId: string, artifacts: StoredArtifact[]): Promise<void> {
  if (artifacts.length === 0) return;
  const kinds = tx.array(artifacts.map((a) => a.kind));
  const names = tx.array(artifacts.map((a) => a.name));
  const contents = tx.array(artifacts.map((a) => JSON.stringify(a.content)));
  const sources = tx.array(artifacts.map((a) => JSON.stringify(a.sourceVersions)));
  await tx`
    delete from artifact_dirty d
    using unnest(${kinds}::text[], ${names}::text[], ${sources}::text[]) as t(kind, name, sources)
    where d.document_id = ${documentId} and d.kind = t.kind and d.name = t.name
      and d.version <= coalesce((t.sources::jsonb ->> d.chapter_id::text)::int, 0)`;
  await tx`
    insert into artifacts as a (document_id, kind, name, content, source_versions, refresh_pending, refreshed_at)
    select ${documentId}, kind, name, content::jsonb, sources::jsonb, false, now()
    from unnest(${kinds}::text[], ${names}::text[], ${contents}::text[], ${sources}::text[]) as t(kind, name, content, sources)
    order by kind, name
    on conflict (document_id, kind, name) do update set
      content = excluded.content, source_versions = excluded.source_versions, refresh_pending = false, refreshed_at = now()`;
}

/** Clears the pending flag after a refresh failed for good (so the next save past the threshold queues one again). */
export async function clearRefreshPending(sql: Sql, documentId: string, key: ArtifactKey): Promise<void> {
  await sql`update artifacts set refresh_pending = false where document_id = ${documentId} and kind = ${key.kind} and name = ${key.name}`;
}

/** Every built artifact of a document (the outline and the character sheets). */
export async function loadArtifacts(sql: Sql, documentId: string): Promise<StoredArtifact[]> {
  const rows = await sql<{ kind: ArtifactKind; name: string; content: Record<string, unknown>; source_versions: Record<string, number> }[]>`
    select kind, name, content, source_versions from artifacts
    where document_id = ${documentId} and content is not null
    order by kind, name`;
  return rows.map((r) => ({ kind: r.kind, name: r.name, content: r.content, sourceVersions: r.source_versions }));
}

/** Dirty chapter counts per artifact (for tests and operators). */
export async function countDirty(sql: Sql, documentId: string): Promise<Map<string, number>> {
  const rows = await sql<{ kind: string; name: string; n: number }[]>`
    select kind, name, count(*)::int as n from artifact_dirty where document_id = ${documentId} group by kind, name`;
  return new Map(rows.map((r) => [r.name ? `${r.kind}:${r.name}` : r.kind, r.n]));
}

/** The artifact's dirty chapters and the versions saved, chapter id → version. */
export async function loadDirtyVersions(sql: Sql, documentId: string, key: ArtifactKey): Promise<Map<string, number>> {
  const rows = await sql<{ chapter_id: string; version: number }[]>`
    select chapter_id, version from artifact_dirty where document_id = ${documentId} and kind = ${key.kind} and name = ${key.name}`;
  return new Map(rows.map((r) => [r.chapter_id, r.version]));
}
