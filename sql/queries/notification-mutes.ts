import type { Sql } from '../client.ts';

/** Whether the user has muted the document's notifications. */
export async function isMuted(sql: Sql, documentId: string, userId: string): Promise<boolean> {
  const rows = await sql`select 1 from document_notification_mutes where document_id = ${documentId} and user_id = ${userId}`;
  return rows.length > 0;
}

/** Mutes or unmutes the document's notifications for the user; saying the same twice changes nothing. */
export async function setMuted(sql: Sql, documentId: string, userId: string, muted: boolean): Promise<void> {
  if (muted) {
    await sql`
      insert into document_notification_mutes (document_id, user_id) values (${documentId}, ${userId})
      on conflict (document_id, user_id) do nothing`;
  } else {
    await sql`delete from document_notification_mutes where document_id = ${documentId} and user_id = ${userId}`;
  }
}
