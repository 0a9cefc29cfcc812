import { ACCESS_FOR, type Access } from '../../domain/access.ts';
import type { StoredArtifact } from '../../domain/package/artifacts.ts';
import type { EssentialPackage } from '../../domain/package/essential.ts';
import type { FullPackage } from '../../domain/package/full.ts';
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

/** A package request's result once written: the build it settled on and the outbox rows to send. */
export interface PackageRequestWritten {
  jobId: string;
  /** Whether this request started the full build (false: one still pending is reused). */
  started: boolean;
  outbox: WrittenOutbox;
}

/**
 * A package request on a document whose stored package is still current, in
 * one statement (one round trip, no BEGIN or COMMIT): the user's access
 * (null when the document is missing or not theirs), and, when that access
 * may edit and no chapter has moved past the versions the stored package
 * (essential or full) was built from, the request itself: the stored copy is
 * kept, the full build settled (a build still pending is reused, otherwise
 * `newJobId` is recorded as pending), and the outbox gets the
 * `package.essential` event, its package the stored one's essential part,
 * then `job` when this request started the build. Chapters are never added,
 * removed, renamed or reordered, and a document is never renamed, so their
 * versions are all that can change an essential package.
 *
 * `reused` is absent when there is nothing current to keep (or the stored copy
 * was replaced while this statement ran): nothing was written, and the caller
 * builds the package and stores it with `writePackageRequest`. Undefined when
 * the user has no access at all.
 */
export async function reusePackageRequest(sql: Sql, r: { documentId: string; userId: string; newJobId: string; job: OutboxInsert; fastPath?: boolean }): Promise<{
  access: Access;
  document: { id: string; title: string; kind: DocumentKind };
  reused?: PackageRequestWritten & { package: EssentialPackage };
} | undefined> {
  const { documentId, userId, newJobId } = r;
  // The event's payload is filled in by the statement, from the package it keeps.
  const announced = (pkg: EssentialPackage | null): OutboxInsert => ({ documentId, kind: 'event', name: 'package.essential', payload: { package: pkg } });
  const outbox = [announced(null), r.job];
  const [row] = await sql<{
    access: Access; id: string; title: string; kind: DocumentKind;
    job_id: string | null; started: boolean | null; essential: EssentialPackage | null; ids: string[] | null; clear: boolean;
  }[]>`
    with doc as (
      select ${accessOf(sql, userId)} as access, d.id, d.title, d.kind
      from documents d
      ${memberJoin(sql, userId)}
      where d.id = ${documentId} and (d.owner_id = ${userId} or m.user_id is not null)
    ), current as (
      select p.document_id, p.updated_at, ${storedEssential(sql)} as essential
      from packages p join doc on doc.id = p.document_id
      where doc.access = any(${sql.array([...ACCESS_FOR.edit])}::text[])
        -- One comparison of whole objects: a lookup per chapter would unpack the stored (TOASTed) object each time.
        and p.source_versions = (select jsonb_object_agg(c.id, c.version) from chapters c where c.document_id = p.document_id)
    ), settled as (
      -- updated_at is checked again on the row as it is now: a copy replaced since this statement's snapshot is not kept.
      update packages p set ${fullBuildSettled(sql, newJobId)}
      from current c
      where p.document_id = c.document_id and p.updated_at = c.updated_at
      returning p.full_job_id as job_id, p.full_job_id = ${newJobId}::uuid as started, c.essential
    ), ${outboxAfterSettled(sql, documentId, outbox, sql`case when r->>'kind' = 'event' then jsonb_build_object('package', s.essential) else r->'payload' end`)}
    select doc.access, doc.id, doc.title, doc.kind, s.job_id, s.started, s.essential,
           (select json_agg(x.id::text order by x.id) from written x) as ids, waiting.clear,
           case when s.job_id is not null and not (waiting.clear and ${r.fastPath ?? false}) then pg_notify(${OUTBOX_CHANNEL}, '') end
    from doc left join settled s on true cross join waiting`;
  if (!row) return undefined;
  const { access, id, title, kind, job_id: jobId, started, essential } = row;
  const document = { id, title, kind };
  if (jobId === null || started === null || essential === null) return { access, document };
  const written = [announced(essential), r.job].filter((o) => o.kind === 'event' || started);
  return { access, document, reused: { package: essential, jobId, started, outbox: { rows: writtenOutboxRows(written, row.ids ?? []), clear: row.clear } } };
}

/**
 * The essential part of the stored package `p`: itself when essential; a
 * full one less what only it has, its chapters without their summaries (the
 * essential package it was built on, `built_at` the full build's). Cut here,
 * not in the API: the request reads a few kilobytes instead of the whole
 * package (outline, sheets, every chapter's summary), which it would parse
 * only to drop. Two reads of the stored object, not one per field.
 */
function storedEssential(sql: Sql) {
  return sql`case when p.stage = 'essential' then p.content
    else p.content - ${sql.array([...FULL_ONLY_FIELDS, 'chapters'])}::text[] || jsonb_build_object(
      'stage', 'essential',
      'chapters', (select coalesce(jsonb_agg(jsonb_build_object('id', c->'id', 'index', c->'index', 'title', c->'title', 'version', c->'version') order by n), '[]')
                   from jsonb_array_elements(p.content->'chapters') with ordinality as x(c, n)))
    end`;
}

/** The fields a full package has and its essential part has not (besides its chapters' summaries). */
const FULL_ONLY_FIELDS = ['outline', 'character_sheets', 'key_terms'] as const satisfies readonly (keyof FullPackage)[];
// Checked both ways by the compiler: a field added to the full package only must be named above, or storedEssential would keep it.
type FullOnlyField = Exclude<keyof FullPackage, keyof EssentialPackage>;
true satisfies ([FullOnlyField] extends [(typeof FULL_ONLY_FIELDS)[number]] ? ([(typeof FULL_ONLY_FIELDS)[number]] extends [FullOnlyField] ? true : false) : false);

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

/**
 * The CTEs that follow `settled` (a row with `started`): `written`, the
 * outbox rows in array order (ids rise in that order), a `job` row only when
 * `settled.started`, each row's payload `payload` (an expression over the row
 * `r` and `settled s`); and `waiting`, whether an earlier row of the
 * document was waiting (see insertOutbox).
 */
function outboxAfterSettled(sql: Sql, documentId: string, rows: OutboxInsert[], payload = sql`r->'payload'`) {
  return sql`
    written as (
      insert into outbox (document_id, kind, name, payload, options)
      select (r->>'document_id')::uuid, r->>'kind', r->>'name', ${payload}, r->'options'
      from settled s, jsonb_array_elements(${sql.json(rows.map(outboxJson) as never)}) with ordinality as u(r, ord)
      where r->>'kind' = 'event' or s.started
      order by ord
      returning id
    ), waiting as (
      -- The statement's snapshot holds only rows committed before it, never its own.
      select not exists (select 1 from outbox o where o.document_id = ${documentId}) as clear
    )`;
}

/** What a package request that built its package writes, in one statement (hence one transaction). */
export interface PackageWrite {
  documentId: string;
  /** The full build's job id if this request starts one. */
  newJobId: string;
  /** The essential package to store in place of the document's current one, and the chapter versions it was built from. */
  store: { content: Record<string, unknown>; sourceVersions: Record<string, number> };
  /** The outbox rows, written in this order; the `job` rows only when this request started the build. */
  outbox: OutboxInsert[];
  /** See insertOutbox's `fastPath`. */
  fastPath?: boolean;
}

/**
 * Stores the essential package, settles the full build (a build still
 * pending is reused, otherwise `newJobId` is recorded as pending) and writes
 * the outbox rows, as one statement: no BEGIN and COMMIT round trips.
 * Concurrent requests serialise on the package row, so only one of them
 * starts a build.
 */
export async function writePackageRequest(sql: Sql, w: PackageWrite): Promise<PackageRequestWritten> {
  const { store } = w;
  const [row] = await sql<{ job_id: string; started: boolean; ids: string[] | null; clear: boolean }[]>`
    with settled as (
      insert into packages as p (document_id, stage, content, source_versions, full_job_id, full_pending)
      values (${w.documentId}, 'essential', ${sql.json(store.content as never)}, ${sql.json(store.sourceVersions as never)}, ${w.newJobId}, true)
      on conflict (document_id) do update set
        stage = 'essential', content = excluded.content, source_versions = excluded.source_versions, updated_at = now(),
        ${fullBuildSettled(sql, w.newJobId)}
      returning p.full_job_id as job_id, p.full_job_id = ${w.newJobId}::uuid as started
    ), ${outboxAfterSettled(sql, w.documentId, w.outbox)}
    select s.job_id, s.started, (select json_agg(x.id::text order by x.id) from written x) as ids, waiting.clear,
           case when not (waiting.clear and ${w.fastPath ?? false}) then pg_notify(${OUTBOX_CHANNEL}, '') end
    from settled s, waiting`;
  // The upsert always returns its row.
  const { job_id: jobId, started, ids, clear } = row!;
  const rows = w.outbox.filter((r) => r.kind === 'event' || started);
  return { jobId, started, outbox: { rows: writtenOutboxRows(rows, ids ?? []), clear } };
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
