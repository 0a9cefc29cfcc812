import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { isFinished } from '../domain/vocabulary.ts';
import type { Sql } from '../sql/client.ts';
import { settleReplacedJobs, upsertJobs, type JobRecord, type JobRow } from '../sql/queries/jobs.ts';
import type { Publisher } from '../realtime/publisher.ts';
import { createBatchWriter } from './batch-writer.ts';
import { jobView, recordOf } from './job-records.ts';

/** What happened to a job, for metrics and notifications. */
export interface JobFinished {
  row: JobRow;
  /** Seconds from start to end, when it started. */
  seconds: number | null;
}

/** Tries per report, the first included (backoff 0.5 s doubling to 30 s: about two minutes in all). */
const WRITE_ATTEMPTS = 10;
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/**
 * A report, with the statuses that earlier reports merged into it had
 * (oldest first); `steered` when a person caused it (retry, cancel);
 * `added` for a job's creation, which only ever inserts its row.
 */
type TrackedRecord = JobRecord & { passed?: JobRecord['status'][]; steered?: boolean; added?: boolean };

/**
 * Whether a row's change is pushed as `job.update`. A chapter job's routine
 * transitions are already pushed as `chapter.status` (one event each, in the
 * same per-document stream); pushing them twice would double a large
 * upload's events and halve how far back `since` can replay. Its failure,
 * its cancel and whatever a person steered are pushed.
 */
function announced(row: JobRow, steered: ReadonlySet<string>): boolean {
  if (row.type !== 'chapter.process') return true;
  return row.status === 'failed' || row.status === 'cancelled' || steered.has(row.id);
}

export interface JobTrackerOptions {
  sql: Sql;
  publisher: Pick<Publisher, 'publishMany'>;
  logger: Logger;
  maxBatchRows: number;
  maxQueuedRows: number;
  /** Called when a report waits for room in the full writer (backpressure). */
  onWriterWait?: () => void;
  /** Off: nothing is written, to measure what tracking costs (JOB_TRACKING). */
  enabled: boolean;
  /** Called once per row that reached a final status in this process. */
  onFinished?: (finished: JobFinished) => void;
}

/**
 * The process's writer of `jobs` rows. Reports are batched (one upsert per
 * batch, merged by job id, the latest report winning); after each batch,
 * `job.update` is published for every row that changed, to the job's
 * document. Tracking is advisory: a failed write is logged, never thrown
 * into the job or the request that caused it.
 */
export interface JobTracker {
  /** Jobs just added to a queue. Their state is that of their creation time, so any later report wins. */
  queued(jobs: Job[]): void;
  /** Records one state change (from worker events, or the API's retry and cancel: `steered`). */
  report(record: JobRecord & { steered?: boolean }): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Longer than ~60 lines on purpose: the batched writer, the rows it changed and the finish hooks are one state
 * shared by `queued`, `report`, `flush` and `close`; each inner function is short, and splitting the factory
 * would mean passing that state around or making it public.
 */
export function createJobTracker(options: JobTrackerOptions): JobTracker {
  const logger = options.logger.child({ component: 'job-tracker' });
  const changed = new WeakMap<TrackedRecord[], JobRow[]>();
  const writer = createBatchWriter<TrackedRecord>({
    key: (r) => r.id,
    // Reports may arrive out of order (an enqueuer's `queued` after the worker's `processing`): the newest state wins,
    // and remembers the statuses it replaced, so a status passed within one batch is still announced.
    merge: (pending, next) => {
      // Any report of a job supersedes its creation; a second creation (the same job id added again) is a no-op.
      if (next.added) return pending;
      const [older, newer] = pending.added ? [pending, next] : next.changedAt >= pending.changedAt ? [pending, next] : [next, pending];
      // As in the upsert: a finished state only gives way to a retry's `queued` (a late progress report does not reopen it).
      if (isFinished(older.status) && newer.status !== 'queued') return older;
      // The statuses in between, in order (a retry passes queued, processing, queued, …); the newest status is the row's own.
      const passed = [...(older.passed ?? []), older.status, ...(newer.passed ?? [])].filter((s, i, all) => s !== all[i - 1]);
      if (passed.at(-1) === newer.status) passed.pop();
      return { ...newer, passed };
    },
    maxBatchRows: options.maxBatchRows,
    maxQueuedRows: options.maxQueuedRows,
    onWait: options.onWriterWait,
    // Job states are not on any request's path: writing every 250 ms (or 500 reports) lets a quick job's
    // queued, processing and completed merge into one row write. At 50 ms, an ingest wrote each chapter's
    // row twice and job tracking cost 17 % of its throughput (npm run bench -- --only=ingest); at 250 ms, 5 to 8 %.
    mode: 'interval',
    minRows: 500,
    maxWaitMs: 250,
    async write(records) {
      const added = records.filter((r) => r.added);
      const reports = records.filter((r) => !r.added);
      const rows = [
        ...(added.length > 0 ? await upsertJobs(options.sql, added, { onlyNew: true }) : []),
        ...(reports.length > 0 ? await upsertJobs(options.sql, reports) : []),
      ];
      const replacing = rows.filter((r) => r.status === 'queued' && r.dedup_id).map((r) => ({ id: r.id, dedupId: r.dedup_id!, createdAt: r.created_at }));
      changed.set(records, [...rows, ...(await settleReplacedJobs(options.sql, replacing))]);
    },
    async afterWrite(records) {
      const rows = changed.get(records) ?? [];
      changed.delete(records);
      for (const row of rows) if (isFinished(row.status)) finished(row);
      const passed = new Map(records.map((r) => [r.id, r.passed ?? []]));
      // A set, not a scan of the batch per row: a 500-row batch scanned for each row was 1 % of an ingest's worker CPU.
      const steered = new Set(records.filter((r) => r.steered).map((r) => r.id));
      const events = rows
        .filter((r) => r.document_id !== null && announced(r, steered))
        // A chapter job's routine statuses are chapter.status events: only its announced one is pushed.
        .flatMap((r) => [...(r.type === 'chapter.process' ? [] : passed.get(r.id) ?? []), r.status].map((status) => ({
          documentId: r.document_id!, name: 'job.update' as const, payload: { job: { ...jobView(r), status } },
        })));
      await options.publisher.publishMany(events).catch((err: unknown) => logger.warn({ err }, 'job.update not published'));
    },
  });
  const finished = (row: JobRow) => {
    const seconds = row.started_at && row.completed_at ? (row.completed_at.getTime() - row.started_at.getTime()) / 1000 : null;
    try {
      options.onFinished?.({ row, seconds });
    } catch (err) {
      logger.warn({ err }, 'job finished hook failed');
    }
  };
  const { enabled } = options;
  let closing = false;
  // A write that fails (PostgreSQL down or restarting) is tried again in the background with backoff, for about
  // two minutes, so a job's row catches up with what happened meanwhile; the caller is never held up by it.
  // A longer outage is left to housekeeping's reconcile task, which takes the job's state from BullMQ.
  const retry = async (record: TrackedRecord, error: unknown) => {
    for (let attempt = 1; attempt < WRITE_ATTEMPTS && !closing; attempt++) {
      await delay(Math.min(30_000, 500 * 2 ** (attempt - 1)));
      try {
        return await writer.add(record);
      } catch (err) {
        error = err;
      }
    }
    logger.warn({ err: error, jobId: record.bullId, status: record.status }, 'job state not recorded');
  };
  const report = async (record: TrackedRecord) => {
    if (!enabled) return;
    await writer.add(record).catch((err: unknown) => void retry(record, err));
  };
  return {
    queued(jobs) {
      for (const job of jobs) {
        if (!job?.id) continue;
        void report({ ...recordOf(job, 'queued', { changedAt: new Date(job.timestamp) }), added: true });
      }
    },
    report,
    flush: () => writer.flush(),
    close: () => {
      closing = true;
      return writer.close();
    },
  };
}
