import type { Access } from '../../domain/access.ts';
import type { StoredArtifact } from '../../domain/package/artifacts.ts';
import type { DocumentKind, PackageStage } from '../../domain/vocabulary.ts';
import type { Sql, TransactionSql } from '../client.ts';
import { accessOf, memberJoin } from './members.ts';
import { OUTBOX_CHANNEL, outboxJson, writtenOutboxRows, type OutboxInsert, type WrittenOutbox } from './outbox.ts';


export interface PackageRow {
  document_id: string;
  stage: PackageStage;
  content: Record<string, unknown> & { stage: PackageStage };
  source_versions: Record<string, number>;
  full_job_id: string;
  full_pending: boolean;
  updated_at: Date;
}

/**
 * A pending full build older than this is presumed lost (its job was removed
 * or Redis lost it) and a new request starts another instead of waiting on it.
 */
export const FULL_BUILD_PRESUMED_LOST_MINUTES = 30;

/**
 * What a package request starts from, in one round trip: the user's access
 * (null when the document is missing or not theirs), the document, and the
 * stored package (essential or full) when it is still current: no chapter has
 * moved past the versions it was built from (chapters are never added,
 * removed, renamed or reordered, and a document is never renamed, so their
 * versions are all that can change an essential package). `stored.version`
 * names that stored copy for `writePackageRequest`: its `updated_at` as text,
 * which keeps the microseconds (postgres.js sends a timestamp parameter in
 * milliseconds).
 */
export async function findPackageRequest(sql: Sql, documentId: string, userId: string): Promise<{
  access: Access;
  document: { id: string; title: string; kind: DocumentKind };
  stored: { stage: PackageStage; content: Record<string, unknown>; version: string } | null;
} | undefined> {
  const [row] = await sql<{
    access: Access; id: string; title: string; kind: DocumentKind; stage: PackageStage | null; content: Record<string, unknown> | null; version: string | null;
  }[]>`
    select ${accessOf(sql, userId)} as access, d.id, d.title, d.kind, current.stage, current.content, current.version
    from documents d
    ${memberJoin(sql, userId)}
    left join lateral (
      select p.stage, p.content, p.updated_at::text as version from packages p
      where p.document_id = d.id
        -- One comparison of whole objects: a lookup per chapter would unpack the stored (TOASTed) object each time.
        and p.source_versions = (select jsonb_object_agg(c.id, c.version) from chapters c where c.document_id = d.id)
    ) current on true
    where d.id = ${documentId} and (d.owner_id = ${userId} or m.user_id is not null)`;
  if (!row) return undefined;
  const { access, id, title, kind, stage, content, version } = row;
  return { access, document: { id, title, kind }, stored: stage && content && version ? { stage, content, version } : null };
}

/**
 * The full build a package request settles on, as SET clauses of `packages p`:
 * a build still pending is reused, otherwise `newJobId` is recorded as pending.
 */
function fullBuildSettled(tx: Sql | TransactionSql, newJobId: string) {
  const pendingAlive = tx`p.full_pending and p.full_requested_at > now() - make_interval(mins => ${FULL_BUILD_PRESUMED_LOST_MINUTES})`;
  return tx`
      full_job_id = case when ${pendingAlive} then p.full_job_id else ${newJobId}::uuid end,
      full_requested_at = case when ${pendingAlive} then p.full_requested_at else now() end,
      full_pending = true`;
}

/** What a package request writes, in one statement (hence one transaction). */
export interface PackageWrite {
  documentId: string;
  /** The full build's job id if this request starts one. */
  newJobId: string;
  /**
   * The essential package to store in place of the document's current one;
   * or `keep`: the stored one's version (findPackageRequest), kept as it is,
   * essential or full.
   */
  store:
    | { content: Record<string, unknown>; sourceVersions: Record<string, number> }
    | { keep: string };
  /** The outbox rows, written in this order; the `job` rows only when this request started the build. */
  outbox: OutboxInsert[];
  /** See insertOutbox's `fastPath`. */
  fastPath?: boolean;
}

/**
 * Stores the essential package (or keeps the stored one), settles the full
 * build (a build still pending is reused, otherwise `newJobId` is recorded as
 * pending) and writes the outbox rows, as one statement: no BEGIN and COMMIT
 * round trips. Concurrent requests serialise on the package row, so only one
 * of them starts a build. Undefined when the copy to keep or replace was
 * itself replaced meanwhile: nothing was written, and the caller builds afresh.
 */
export async function writePackageRequest(sql: Sql, w: PackageWrite): Promise<{ jobId: string; started: boolean; outbox: WrittenOutbox } | undefined> {
  const { store } = w;
  const settled = 'keep' in store
    ? sql`
      update packages p set ${fullBuildSettled(sql, w.newJobId)}
      where p.document_id = ${w.documentId} and p.updated_at = ${store.keep}::text::timestamptz
      returning p.full_job_id as job_id, p.full_job_id = ${w.newJobId}::uuid as started`
    : sql`
      insert into packages as p (document_id, stage, content, source_versions, full_job_id, full_pending)
      values (${w.documentId}, 'essential', ${sql.json(store.content as never)}, ${sql.json(store.sourceVersions as never)}, ${w.newJobId}, true)
      on conflict (document_id) do update set
        stage = 'essential', content = excluded.content, source_versions = excluded.source_versions, updated_at = now(),
        ${fullBuildSettled(sql, w.newJobId)}
      returning p.full_job_id as job_id, p.full_job_id = ${w.newJobId}::uuid as started`;
  const [row] = await sql<{ job_id: string; started: boolean; ids: string[] | null; clear: boolean }[]>`
    with settled as (${settled}), written as (
      insert into outbox (document_id, kind, name, payload, options)
      select (r->>'document_id')::uuid, r->>'kind', r->>'name', r->'payload', r->'options'
      from settled s, jsonb_array_elements(${sql.json(w.outbox.map(outboxJson) as never)}) with ordinality as u(r, ord)
      where r->>'kind' = 'event' or s.started
      order by ord
      returning id
    ), waiting as (
      -- The statement's snapshot holds only rows committed before it, never its own.
      select not exists (select 1 from outbox o where o.document_id = ${w.documentId}) as clear
    )
    select s.job_id, s.started, (select json_agg(x.id::text order by x.id) from written x) as ids, waiting.clear,
           case when not (waiting.clear and ${w.fastPath ?? false}) then pg_notify(${OUTBOX_CHANNEL}, '') end
    from settled s, waiting`;
  if (!row) return undefined;
  const rows = w.outbox.filter((r) => r.kind === 'event' || row.started);
  return { jobId: row.job_id, started: row.started, outbox: { rows: writtenOutboxRows(rows, row.ids ?? []), clear: row.clear } };
}

/** The document's latest package, or undefined before any. */
export async function findPackage(sql: Sql, documentId: string): Promise<PackageRow | undefined> {
  const [row] = await sql<PackageRow[]>`select * from packages where document_id = ${documentId}`;
  return row;
}

/** A stored full package still current, with what announcing it again needs. */
export interface CurrentFullPackage {
  content: Record<string, unknown>;
  title: string;
  /** The document's stored outline and sheets, which may have been refreshed since the package was built. */
  artifacts: Pick<StoredArtifact, 'kind' | 'name' | 'content'>[];
}

/**
 * Ends the pending build `jobId` when the stored package is full and current
 * (no chapter has moved past the versions it was built from), so the build
 * has nothing to make, only this package to announce again: one statement
 * settles it and returns what the announcement needs, the package, the
 * document's title and its stored outline and sheets. Undefined when `jobId`
 * is no longer the pending build (a newer request replaced it) or has a
 * package to build.
 */
export async function settleCurrentFullBuild(sql: Sql, documentId: string, jobId: string): Promise<CurrentFullPackage | undefined> {
  const [row] = await sql<CurrentFullPackage[]>`
    update packages p set full_pending = false
    from documents d
    where p.document_id = ${documentId} and p.full_job_id = ${jobId}::uuid and p.full_pending and p.stage = 'full'
      and d.id = p.document_id
      and p.source_versions = (select jsonb_object_agg(c.id, c.version) from chapters c where c.document_id = p.document_id)
    returning p.content, d.title,
      (select coalesce(json_agg(json_build_object('kind', a.kind, 'name', a.name, 'content', a.content) order by a.kind, a.name), '[]')
       from artifacts a where a.document_id = p.document_id and a.content is not null) as artifacts`;
  return row;
}

/** Whether `jobId` is still the document's pending full build (a newer request may have replaced it). */
export async function isPendingFullBuild(sql: Sql, documentId: string, jobId: string): Promise<boolean> {
  const rows = await sql`select 1 from packages where document_id = ${documentId} and full_job_id = ${jobId}::uuid and full_pending`;
  return rows.length > 0;
}

/** Stores the full package in place of the essential one, if `jobId` is still the build asked for. */
export async function storeFullPackage(
  tx: TransactionSql,
  p: { documentId: string; jobId: string; content: Record<string, unknown>; sourceVersions: Record<string, number> },
): Promise<boolean> {
  const rows = await tx`
    update packages set stage = 'full', content = ${tx.json(p.content as never)}, source_versions = ${tx.json(p.sourceVersions as never)},
           full_pending = false, updated_at = now()
    where document_id = ${p.documentId} and full_job_id = ${p.jobId}::uuid
    returning 1`;
  return rows.length > 0;
}

/** Ends a full build that failed for good, so the next request starts a new one. */
export async function abandonFullBuild(sql: Sql, documentId: string, jobId: string): Promise<void> {
  await sql`update packages set full_pending = false where document_id = ${documentId} and full_job_id = ${jobId}::uuid`;
}

/**
 * Stores a full package built by a manual refresh, whatever build is pending
 * (it is at least as fresh as any). A pending build still runs and replaces
 * it with its own, equally fresh, result.
 */
export async function storeRefreshedPackage(
  tx: TransactionSql,
  p: { documentId: string; jobId: string; content: Record<string, unknown>; sourceVersions: Record<string, number> },
): Promise<void> {
  await tx`
    insert into packages as p (document_id, stage, content, source_versions, full_job_id, full_pending)
    values (${p.documentId}, 'full', ${tx.json(p.content as never)}, ${tx.json(p.sourceVersions as never)}, ${p.jobId}, false)
    on conflict (document_id) do update set stage = 'full', content = excluded.content,
      source_versions = excluded.source_versions, updated_at = now()`;
}
