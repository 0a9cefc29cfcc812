import type { JobStatus } from '../../domain/vocabulary.ts';
import type { Sql } from '../client.ts';


/** One job's state as a worker or an enqueuer reports it. */
export interface JobRecord {
  id: string;
  queue: string;
  bullId: string;
  type: string;
  status: JobStatus;
  priority: string;
  progress: number;
  attempts: number;
  maxAttempts: number;
  documentId: string | null;
  userId: string | null;
  requestId: string | null;
  /** BullMQ deduplication id, when the job has one. */
  dedupId?: string | null;
  result: unknown;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  /** When this state happened; an older report never replaces a newer one. */
  changedAt: Date;
}

export interface JobRow {
  id: string;
  queue: string;
  bull_id: string;
  type: string;
  status: JobStatus;
  priority: string;
  progress: number;
  attempts: number;
  max_attempts: number;
  document_id: string | null;
  user_id: string | null;
  request_id: string | null;
  dedup_id: string | null;
  result: unknown;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  changed_at: Date;
}

/**
 * Upserts job states in one statement (a JSON array through
 * jsonb_to_recordset). A report older than the row's state is ignored, and a
 * finished row only moves again to `queued` by a report newer than its end
 * (a retry). Rows whose document was deleted meanwhile are skipped.
 * With `onlyNew`, rows that exist are left alone (a job's creation: adding
 * an existing job id again is a no-op in BullMQ, so it must not reopen or
 * rewind the job's row). Returns the rows actually changed.
 */
export async function upsertJobs(sql: Sql, records: JobRecord[], { onlyNew = false } = {}): Promise<JobRow[]> {
  if (records.length === 0) return [];
  const json = records.map((r) => ({
    id: r.id, queue: r.queue, bull_id: r.bullId, type: r.type, status: r.status, priority: r.priority, progress: r.progress,
    attempts: r.attempts, max_attempts: r.maxAttempts, document_id: r.documentId, user_id: r.userId, request_id: r.requestId,
    dedup_id: r.dedupId ?? null, result: r.result ?? null, error: r.error, created_at: r.createdAt.toISOString(), started_at: r.startedAt?.toISOString() ?? null,
    completed_at: r.completedAt?.toISOString() ?? null, changed_at: r.changedAt.toISOString(),
  }));
  return sql<JobRow[]>`
    insert into jobs as j (id, queue, bull_id, type, status, priority, progress, attempts, max_attempts, document_id,
                           user_id, request_id, dedup_id, result, error, created_at, started_at, completed_at, changed_at)
    select r.* from jsonb_to_recordset(${sql.json(json as never)}::jsonb) as r(
      id uuid, queue text, bull_id text, type text, status text, priority text, progress int, attempts int, max_attempts int,
      document_id uuid, user_id text, request_id text, dedup_id text, result jsonb, error text, created_at timestamptz, started_at timestamptz,
      completed_at timestamptz, changed_at timestamptz)
    where r.document_id is null or exists (select 1 from documents d where d.id = r.document_id)
    on conflict (id) do ${onlyNew ? sql`nothing` : sql`update set
      status = excluded.status,
      priority = excluded.priority,
      progress = excluded.progress,
      attempts = excluded.attempts,
      max_attempts = excluded.max_attempts,
      user_id = coalesce(j.user_id, excluded.user_id),
      request_id = coalesce(j.request_id, excluded.request_id),
      dedup_id = coalesce(j.dedup_id, excluded.dedup_id),
      result = excluded.result,
      error = excluded.error,
      started_at = coalesce(excluded.started_at, j.started_at),
      completed_at = excluded.completed_at,
      changed_at = excluded.changed_at
    where excluded.changed_at >= j.changed_at
      and (j.status not in ('completed', 'failed', 'cancelled')
           or (excluded.status = 'queued' and excluded.changed_at > coalesce(j.completed_at, j.changed_at)))`}
    returning *`;
}

/**
 * A debounced job replaced by a newer one with the same deduplication id
 * (BullMQ removed the older, still delayed, job): its row ends `cancelled`
 * instead of staying queued forever, whichever of the two rows is written
 * first (each process reports its own adds). One statement for the batch.
 */
export async function settleReplacedJobs(sql: Sql, replacing: { id: string; dedupId: string; createdAt: Date }[]): Promise<JobRow[]> {
  if (replacing.length === 0) return [];
  return sql<JobRow[]>`
    update jobs j set status = 'cancelled', error = 'replaced by a newer request', completed_at = now(), changed_at = now()
    from unnest(${sql.array(replacing.map((r) => r.id))}::uuid[], ${sql.array(replacing.map((r) => r.dedupId))}::text[],
                ${sql.array(replacing.map((r) => r.createdAt.toISOString()))}::timestamptz[]) as n(id, dedup_id, created_at)
    where j.dedup_id = n.dedup_id and j.status = 'queued'
      and ((j.id <> n.id and j.created_at < n.created_at)
           -- Recorded late (its process was slow to report): a newer job already replaced it.
           or (j.id = n.id and exists (select 1 from jobs k where k.dedup_id = n.dedup_id and k.created_at > n.created_at)))
    returning j.*`;
}

/** One job's row. */
export async function findJob(sql: Sql, id: string): Promise<JobRow | undefined> {
  const [row] = await sql<JobRow[]>`select * from jobs where id = ${id}`;
  return row;
}

/** A job row with its place in a newest-first list: `created_at` to the microsecond (UTC ISO 8601). */
export type PagedJobRow = JobRow & { page_created_at: string };

/**
 * A page of a document's jobs, newest first, after `after` (keyset paging on
 * (created_at, id), served by jobs_document_page_idx): rows added meanwhile
 * never shift a page. Asks for one more row than `limit` so the caller knows
 * whether another page follows.
 */
export async function listDocumentJobsPage(
  sql: Sql,
  documentId: string,
  limit: number,
  after?: { createdAt: string; id: string },
): Promise<PagedJobRow[]> {
  return sql<PagedJobRow[]>`
    select *, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as page_created_at
    from jobs
    where document_id = ${documentId}
      -- Sent as text: a parameter typed timestamptz goes through a JavaScript Date and loses the microseconds.
      ${after ? sql`and (created_at, id) < (${after.createdAt}::text::timestamptz, ${after.id}::uuid)` : sql``}
    order by created_at desc, id desc
    limit ${limit + 1}`;
}

/** Rows not ended (queued or processing) whose state has not changed for `seconds`, oldest first. */
export async function findOpenJobsUnchangedFor(sql: Sql, seconds: number, limit: number): Promise<JobRow[]> {
  return sql<JobRow[]>`
    select * from jobs where status in ('queued', 'processing') and changed_at < now() - make_interval(secs => ${seconds})
    order by changed_at limit ${limit}`;
}

/** Ends a row whose job is gone from its queue, unless its state changed meanwhile. */
export async function endVanishedJob(sql: Sql, row: Pick<JobRow, 'id' | 'changed_at'>, error: string): Promise<JobRow | undefined> {
  const [ended] = await sql<JobRow[]>`
    update jobs set status = 'cancelled', error = ${error}, completed_at = now(), changed_at = now()
    where id = ${row.id} and status in ('queued', 'processing') and changed_at = ${row.changed_at}
    returning *`;
  return ended;
}

/** Jobs processing for longer than `seconds`. */
export async function countStuckJobs(sql: Sql, seconds: number): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from jobs where status = 'processing' and started_at < now() - make_interval(secs => ${seconds})`;
  return row!.n;
}

/** Deletes finished rows that ended more than `days` ago; returns how many. */
export async function deleteFinishedJobs(sql: Sql, days: number): Promise<number> {
  const rows = await sql`
    delete from jobs where status in ('completed', 'failed', 'cancelled') and completed_at < now() - make_interval(days => ${days})
    returning 1`;
  return rows.length;
}

/**
 * How many of a user's jobs are in each queue and status. Only jobs on
 * documents the user can still open, which lets PostgreSQL reach them through
 * the documents', members' and jobs' indexes rather than scanning every job.
 */
export async function countUserJobs(sql: Sql, userId: string): Promise<{ queue: string; status: JobStatus; n: number }[]> {
  return sql<{ queue: string; status: JobStatus; n: number }[]>`
    select queue, status, count(*)::int as n from jobs
    where user_id = ${userId}
      and document_id in (select id from documents where owner_id = ${userId}
                          union all select document_id from document_members where user_id = ${userId})
    group by queue, status`;
}
