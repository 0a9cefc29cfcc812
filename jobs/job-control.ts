import type { Job } from 'bullmq';
import type { RedisClient } from '../realtime/redis-client.ts';
import { isFinished } from '../domain/vocabulary.ts';
import type { JobRow } from '../sql/queries/jobs.ts';
import { QUEUES, type QueueName } from './contracts.ts';
import { requestCancel } from './job-cancel.ts';
import { recordOf } from './job-records.ts';
import type { JobTracker } from './job-tracker.ts';
import type { JobQueues } from './queues.ts';

/** Counts of one queue, as GET /api/queues shows them. */
export interface QueueCounts {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  paused: number;
}

/** Steering jobs from the API: retry, cancel, and the queues' counts. */
export interface JobControl {
  /** Retries a failed job (BullMQ `job.retry`); `not_failed` when its row or BullMQ says otherwise. */
  retry(row: JobRow): Promise<'retried' | 'not_failed'>;
  /**
   * A waiting or delayed job is removed and its row says cancelled; an
   * active one is asked to stop (every worker process hears it, the one
   * running it aborts the job's signal, and the row ends `cancelled`).
   */
  cancel(row: JobRow): Promise<'cancelled' | 'cancelling' | 'finished'>;
  counts(): Promise<QueueCounts[]>;
}

export interface JobControlDeps {
  queues: JobQueues;
  redis: RedisClient;
  prefix: string;
  tracker: JobTracker;
  /**
   * Runs before a waiting job is removed: a chapter job of a windowed ingest
   * releases the chapter it would have released on starting
   * (jobs/ingest-window.ts), so cancelling one chapter does not leave the
   * rest of its document unqueued.
   */
  beforeRemove?(job: Job): Promise<void>;
}

export function createJobControl(deps: JobControlDeps): JobControl {
  const bullJob = (row: JobRow) => deps.queues.queue(row.queue as QueueName).getJob(row.bull_id);
  return {
    async retry(row) {
      if (row.status !== 'failed') return 'not_failed';
      const job = await bullJob(row);
      if (!job || (await job.getState()) !== 'failed') return 'not_failed';
      // The row is reopened before BullMQ may run the job: a finished row accepts only a newer `queued`,
      // so the worker's reports of the new run must find it open.
      await deps.tracker.report({ ...recordOf(job, 'queued', { attempts: 0, error: null, startedAt: null, completedAt: null }), steered: true });
      try {
        await job.retry('failed', { resetAttemptsMade: true });
      } catch (error) {
        await deps.tracker.report({ ...rowRecord(row), changedAt: new Date(), steered: true });
        throw error;
      }
      return 'retried';
    },
    async cancel(row) {
      if (isFinished(row.status)) return 'finished';
      const job = await bullJob(row);
      const state = job ? await job.getState() : 'unknown';
      if (state === 'completed' || state === 'failed') return 'finished';
      if (job && state === 'active') {
        await requestCancel(deps.redis, deps.prefix, row.queue, row.bull_id);
        return 'cancelling';
      }
      // Removing fails if a worker took the job meanwhile: then it is cancelled like a running one.
      if (job) await deps.beforeRemove?.(job);
      const removed = job ? await job.remove().then(() => true, () => false) : true;
      if (!removed) {
        await requestCancel(deps.redis, deps.prefix, row.queue, row.bull_id);
        return 'cancelling';
      }
      await deps.tracker.report({ ...rowRecord(row), status: 'cancelled', error: 'cancelled', completedAt: new Date(), changedAt: new Date(), steered: true });
      return 'cancelled';
    },
    async counts() {
      return Promise.all(
        Object.values(QUEUES).map(async (name) => {
          const c = await deps.queues.queue(name).getJobCounts('wait', 'prioritized', 'waiting-children', 'active', 'delayed', 'completed', 'failed', 'paused');
          const n = (k: string) => c[k] ?? 0;
          return { name, waiting: n('wait') + n('prioritized') + n('waiting-children'), active: n('active'), delayed: n('delayed'), completed: n('completed'), failed: n('failed'), paused: n('paused') };
        }),
      );
    },
  };
}

function rowRecord(row: JobRow) {
  return {
    id: row.id, queue: row.queue, bullId: row.bull_id, type: row.type, status: row.status, priority: row.priority, progress: row.progress,
    attempts: row.attempts, maxAttempts: row.max_attempts, documentId: row.document_id, userId: row.user_id, requestId: row.request_id,
    result: row.result, error: row.error, createdAt: row.created_at, startedAt: row.started_at, completedAt: row.completed_at, changedAt: row.changed_at,
  };
}
