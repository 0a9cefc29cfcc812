import type { RefreshStatus } from '../../domain/vocabulary.ts';
import type { Sql, TransactionSql } from '../client.ts';


export interface RefreshRow {
  job_id: string;
  document_id: string;
  user_id: string;
  status: RefreshStatus;
  created_at: Date;
  completed_at: Date | null;
}

/**
 * The document's pending refresh, if any. A pending row whose job already
 * ended (cancelled, or lost with its worker) is settled from the job's row
 * first, so it never blocks the next refresh.
 */
export async function findPendingRefresh(sql: Sql | TransactionSql, documentId: string): Promise<RefreshRow | undefined> {
  await sql`
    update refreshes r set status = j.status, completed_at = coalesce(j.completed_at, now())
    from jobs j
    where r.document_id = ${documentId} and r.status = 'pending' and j.id = r.job_id
      and j.status in ('completed', 'failed', 'cancelled')`;
  const [row] = await sql<RefreshRow[]>`select * from refreshes where document_id = ${documentId} and status = 'pending'`;
  return row;
}

/** Records a new pending refresh; undefined when one is already pending (the unique partial index decides races). */
export async function insertRefresh(tx: TransactionSql, r: { jobId: string; documentId: string; userId: string }): Promise<RefreshRow | undefined> {
  const [row] = await tx<RefreshRow[]>`
    insert into refreshes (job_id, document_id, user_id) values (${r.jobId}, ${r.documentId}, ${r.userId})
    on conflict do nothing
    returning *`;
  return row;
}

/** Ends a refresh with its outcome (only a pending one). */
export async function settleRefresh(sql: Sql | TransactionSql, jobId: string, status: Exclude<RefreshStatus, 'pending'>): Promise<void> {
  await sql`update refreshes set status = ${status}, completed_at = now() where job_id = ${jobId} and status = 'pending'`;
}

/** A document's refreshes, newest first. */
export async function listRefreshes(sql: Sql, documentId: string, limit = 100): Promise<RefreshRow[]> {
  return sql<RefreshRow[]>`select * from refreshes where document_id = ${documentId} order by created_at desc limit ${limit}`;
}
