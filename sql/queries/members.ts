import { ACCESS_FOR, type Access, type MemberRole, type Need } from '../../domain/access.ts';
import type { Sql, TransactionSql } from '../client.ts';

/**
 * The user's membership row of document `d`, as `m`: the join every access
 * lookup makes. Use with accessOf and hasAccess on the same user. The
 * autosave function (sql/migrations/0010_autosave_function.sql) makes the
 * same lookup in SQL, with the levels that may edit passed in from ACCESS_FOR.
 */
export function memberJoin(sql: Sql | TransactionSql, userId: string) {
  return sql`left join document_members m on m.document_id = d.id and m.user_id = ${userId}`;
}

/** The user's access to document `d` (owner, the member's role, or null), given memberJoin. */
export function accessOf(sql: Sql | TransactionSql, userId: string) {
  return sql`(case when d.owner_id = ${userId} then 'owner' else m.role end)`;
}

/** Whether the user's access to document `d` meets `need` (domain/access.ts), given memberJoin. */
export function hasAccess(sql: Sql | TransactionSql, userId: string, need: Need) {
  return sql`${accessOf(sql, userId)} = any(${sql.array([...ACCESS_FOR[need]])}::text[])`;
}

/** The user's access to a document, or null when the document is missing or not theirs. */
export async function findAccess(sql: Sql, documentId: string, userId: string): Promise<Access | null> {
  const [row] = await sql<{ access: Access }[]>`
    select ${accessOf(sql, userId)} as access
    from documents d
    ${memberJoin(sql, userId)}
    where d.id = ${documentId} and (d.owner_id = ${userId} or m.user_id is not null)`;
  return row?.access ?? null;
}

export interface MemberRow {
  document_id: string;
  user_id: string;
  role: MemberRole;
  created_at: Date;
}

/**
 * Adds a member, or changes an existing member's role, while the document
 * has fewer than `maxMembers` members; null when it is full (a role change
 * is always allowed). The member user is created if never seen.
 */
export async function addMember(
  sql: Sql,
  documentId: string,
  userId: string,
  role: MemberRole,
  maxMembers: number,
): Promise<MemberRow | null> {
  return sql.begin(async (tx) => {
    // Concurrent adds to one document queue up behind this row lock, so each
    // count below sees every add committed before it: none gets past the cap.
    // NO KEY UPDATE does not block the key-share locks of foreign key checks.
    await tx`select 1 from documents where id = ${documentId} for no key update`;
    const [seats] = await tx<{ members: number; already: boolean }[]>`
      select count(*)::int as members, coalesce(bool_or(user_id = ${userId}), false) as already
      from document_members where document_id = ${documentId}`;
    if (!seats!.already && seats!.members >= maxMembers) return null;
    await tx`insert into users (id) values (${userId}) on conflict (id) do nothing`;
    const [row] = await tx<MemberRow[]>`
      insert into document_members (document_id, user_id, role) values (${documentId}, ${userId}, ${role})
      on conflict (document_id, user_id) do update set role = excluded.role
      returning document_id, user_id, role, created_at`;
    return row!;
  }) as Promise<MemberRow | null>;
}

/** The document's members' user ids (not the owner). */
export async function listMemberIds(sql: Sql, documentId: string): Promise<string[]> {
  const rows = await sql<{ user_id: string }[]>`select user_id from document_members where document_id = ${documentId}`;
  return rows.map((r) => r.user_id);
}

/** Removes a member; false when the user was not a member. */
export async function removeMember(sql: Sql | TransactionSql, documentId: string, userId: string): Promise<boolean> {
  const rows = await sql`delete from document_members where document_id = ${documentId} and user_id = ${userId} returning 1`;
  return rows.length > 0;
}

/**
 * Whether the user is a member now. A removal still being committed holds
 * the row's lock; this waits for it (FOR KEY SHARE), so it never answers
 * from before a removal that has already been announced.
 */
export async function isMemberNow(sql: Sql, documentId: string, userId: string): Promise<boolean> {
  const rows = await sql`
    select 1 from document_members where document_id = ${documentId} and user_id = ${userId} for key share`;
  return rows.length > 0;
}
