import type { Sql, TransactionSql } from '../client.ts';

export interface NotificationRow {
  id: string;
  seq: string;
  user_id: string;
  kind: string;
  title: string;
  body: string;
  document_id: string | null;
  read_at: Date | null;
  created_at: Date;
}

export interface NewNotification {
  kind: string;
  title: string;
  body: string;
  documentId: string | null;
}

/** At most `limit` notifications about one document to one user per sliding `windowSeconds`. */
export interface NotificationLimit {
  limit: number;
  windowSeconds: number;
}

/**
 * Stores one notification for every user who can see the document (owner and
 * members), or for the given users, in one statement; ids are made here.
 * About a document, it skips the users who muted it and those who already
 * got `limit.limit` notifications about it within the window (dropped, not
 * queued). Returns the stored rows with whether each user wants that kind pushed.
 */
export async function insertNotifications(
  sql: Sql | TransactionSql,
  n: NewNotification,
  recipients: { documentId: string } | { userIds: string[] },
  limit: NotificationLimit,
): Promise<(NotificationRow & { push: boolean })[]> {
  const users =
    'documentId' in recipients
      ? sql`select owner_id as user_id from documents where id = ${recipients.documentId}
            union select user_id from document_members where document_id = ${recipients.documentId}`
      : sql`select unnest(${sql.array(recipients.userIds)}::text[]) as user_id`;
  // The inner LIMIT keeps each count short however many notifications a user has.
  return sql<(NotificationRow & { push: boolean })[]>`
    with recipients as (${users}), wanted as (
      select r.user_id from recipients r
      where ${n.documentId}::uuid is null or (
        not exists (select 1 from document_notification_mutes m where m.document_id = ${n.documentId}::uuid and m.user_id = r.user_id)
        and (select count(*) from (
          select 1 from notifications x
          where x.user_id = r.user_id and x.document_id = ${n.documentId}::uuid
            and x.created_at > now() - make_interval(secs => ${limit.windowSeconds})
          limit ${limit.limit}
        ) recent) < ${limit.limit}
      )
    ), stored as (
      insert into notifications (id, user_id, kind, title, body, document_id)
      select gen_random_uuid(), user_id, ${n.kind}, ${n.title}, ${n.body}, ${n.documentId} from wanted
      returning *
    )
    select s.*, s.seq::text as seq, coalesce(${n.kind} = any(p.kinds), true) as push
    from stored s left join notification_preferences p on p.user_id = s.user_id`;
}

/** A user's notifications: unread first, then newest first; `offset` pages. */
export async function listNotifications(sql: Sql, userId: string, limit: number, offset: number): Promise<{ rows: NotificationRow[]; unread: number }> {
  const [rows, [count]] = await Promise.all([
    sql<NotificationRow[]>`
      select n.*, n.seq::text as seq from notifications n where n.user_id = ${userId}
      order by (n.read_at is null) desc, n.seq desc limit ${limit} offset ${offset}`,
    sql<{ n: number }[]>`select count(*)::int as n from notifications where user_id = ${userId} and read_at is null`,
  ]);
  return { rows, unread: count!.n };
}

/** Unread notifications newer than the given one (all unread when null), oldest first, for a socket that connects. */
export async function listUnreadAfter(sql: Sql, userId: string, afterId: string | null, limit = 100): Promise<NotificationRow[]> {
  return sql<NotificationRow[]>`
    select n.*, n.seq::text as seq from notifications n
    where n.user_id = ${userId} and n.read_at is null
      and n.seq > coalesce((select a.seq from notifications a where a.id = ${afterId}::uuid and a.user_id = ${userId}), 0)
    order by n.seq desc limit ${limit}`.then((rows) => rows.reverse());
}

/** Marks one of the user's notifications read; false when it is not theirs. */
export async function markNotificationRead(sql: Sql, userId: string, id: string): Promise<boolean> {
  const rows = await sql`
    update notifications set read_at = coalesce(read_at, now()) where id = ${id} and user_id = ${userId} returning 1`;
  return rows.length > 0;
}

/** Which kinds a user wants pushed; null when never set (every kind). */
export async function findPreferences(sql: Sql, userId: string): Promise<string[] | null> {
  const [row] = await sql<{ kinds: string[] }[]>`select kinds from notification_preferences where user_id = ${userId}`;
  return row?.kinds ?? null;
}

export async function savePreferences(sql: Sql, userId: string, kinds: string[]): Promise<void> {
  await sql`
    insert into notification_preferences (user_id, kinds) values (${userId}, ${sql.array(kinds)}::text[])
    on conflict (user_id) do update set kinds = excluded.kinds, updated_at = now()`;
}
