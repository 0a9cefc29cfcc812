import type { Job, Worker } from 'bullmq';
import type { JobTracker } from './job-tracker.ts';
import { recordOf } from './job-records.ts';

/** Jobs this process was asked to cancel, by `<queue>:<id>`, until their end is recorded. */
export type CancelledJobs = Set<string>;
export const cancelKey = (job: Pick<Job, 'queueName' | 'id'>) => `${job.queueName}:${job.id}`;

/**
 * Follows a worker's jobs into the `jobs` table: started, progress, done,
 * and failed, which is `queued` again while a retry is due, `failed` once
 * BullMQ gave up (it set `finishedOn`), and `cancelled` when the failure was
 * the cancel this process was asked for.
 */
export function trackWorkerJobs(worker: Worker, tracker: JobTracker, cancelled: CancelledJobs): void {
  worker.on('active', (job) => void tracker.report(recordOf(job, 'processing')));
  worker.on('progress', (job) => void tracker.report(recordOf(job, 'processing')));
  worker.on('completed', (job, result: unknown) => void tracker.report(recordOf(job, 'completed', { result: result ?? null })));
  worker.on('failed', (job, err) => {
    if (!job) return;
    const status = cancelled.delete(cancelKey(job)) ? 'cancelled' : job.finishedOn ? 'failed' : 'queued';
    void tracker.report(recordOf(job, status, { error: status === 'cancelled' ? 'cancelled' : err.message }));
  });
}
