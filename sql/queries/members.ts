import type { Sql } from '../client.ts';

export type Access = 'owner' | 'editor' | 'viewer';
export type MemberRole = Exclude<Access, 'owner'>;

/** The user's access to a document, or null when the document is missing or not theirs. */
export async function findAccess(sql: Sql, documentId: string, userId: string): Promise<Access | null> {
  const [row] = await sql<{ access: Access }[]>`
    select case when d.owner_id = ${userId} then 'owner' else m.role end as access
    from documents d
    left join document_members m on m.document_id = d.id and m.user_id = ${userId}
    where d.id = ${documentId} and (d.owner_id = ${userId} or m.user_id is not null)`;
  return row?.access ?? null;
}

export interface MemberRow {
  document_id: string;
  user_id: string;
  role: MemberRole;
  created_at: Date;
}

/** Adds or changes a member; the member user is created if never seen. */
export async function upsertMember(sql: Sql, documentId: string, userId: string, role: MemberRole): Promise<MemberRow> {
  return sql.begin(async (tx) => {
    await tx`insert into users (id) values (${userId}) on conflict (id) do nothing`;
    const [row] = await tx<MemberRow[]>`
      insert into document_members (document_id, user_id, role) values (${documentId}, ${userId}, ${role})
      on conflict (document_id, user_id) do update set role = excluded.role
      returning document_id, user_id, role, created_at`;
    return row!;
  }) as Promise<MemberRow>;
}
