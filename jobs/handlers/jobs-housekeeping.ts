import { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Sql } from '../../sql/client.ts';
import { pruneChapterHistory, type ChapterHistoryRetention } from '../../sql/queries/chapter-versions.ts';
import { deleteFinishedJobs, endVanishedJob, findOpenJobsUnchangedFor, type JobRecord } from '../../sql/queries/jobs.ts';
import { JOB_QUEUE, QUEUES, type JobPayloads, type QueueName } from '../contracts.ts';
import { recordOf } from '../job-records.ts';
import type { JobTracker } from '../job-tracker.ts';
import { jobOptions, type JobPolicy, type JobQueues } from '../queues.ts';

/** The job schedulers' ids: one schedule each per deployment, however many processes upsert them. */
export const HOUSEKEEPING_SCHEDULER_ID = 'jobs-housekeeping';
export const RECONCILE_SCHEDULER_ID = 'jobs-reconcile';
/** Open rows checked per reconcile run, oldest first. */
const RECONCILE_BATCH = 500;

/** Registers (or updates) the repeatable housekeeping jobs; idempotent, so every worker process may call it. */
export async function scheduleHousekeeping(queues: JobQueues, policy: JobPolicy, every: { trimMs: number; reconcileMs: number }): Promise<void> {
  const { removeOnComplete, removeOnFail, priority } = jobOptions('jobs.housekeeping', policy);
  const opts = { removeOnComplete, removeOnFail, priority };
  const queue = queues.queue(JOB_QUEUE['jobs.housekeeping']);
  await queue.upsertJobScheduler(HOUSEKEEPING_SCHEDULER_ID, { every: every.trimMs }, { name: 'jobs.housekeeping', data: { task: 'trim' }, opts });
  await queue.upsertJobScheduler(RECONCILE_SCHEDULER_ID, { every: every.reconcileMs }, { name: 'jobs.housekeeping', data: { task: 'reconcile' }, opts });
}

export interface HousekeepingDeps {
  sql: Sql;
  queues: Pick<JobQueues, 'queue'>;
  tracker: Pick<JobTracker, 'report'>;
  retentionDays: number;
  /** Reconcile looks at open rows unchanged for this long. */
  reconcileAfterMs: number;
  logger: Logger;
  /** What the trim task keeps of each chapter's history; absent, history is not pruned. */
  chapterHistory?: ChapterHistoryRetention;
}

export async function runHousekeeping(job: Job<JobPayloads['jobs.housekeeping']>, deps: HousekeepingDeps) {
  return job.data?.task === 'reconcile' ? reconcileJobRows(deps) : trimFinishedJobs(deps);
}

/** Deletes finished `jobs` rows past retention, BullMQ's own finished jobs as old, and chapter history past its retention. */
async function trimFinishedJobs(deps: HousekeepingDeps) {
  const rows = await deleteFinishedJobs(deps.sql, deps.retentionDays);
  const graceMs = deps.retentionDays * 24 * 3600 * 1000;
  let trimmed = 0;
  for (const name of Object.values(QUEUES)) {
    const queue = deps.queues.queue(name);
    for (const set of ['completed', 'failed'] as const) trimmed += (await queue.clean(graceMs, 10_000, set)).length;
  }
  const versions = deps.chapterHistory ? await pruneChapterHistory(deps.sql, deps.chapterHistory) : 0;
  deps.logger.info({ rows, trimmed, versions }, 'housekeeping done');
  return { rows_deleted: rows, bullmq_trimmed: trimmed, chapter_versions_deleted: versions };
}

/**
 * A process that dies (SIGKILL, OOM) takes the job states it had not yet
 * written with it: the job ran on elsewhere, but its row stays `queued` or
 * `processing`. Rows open and unchanged for a while are compared with their
 * job in BullMQ, the source of truth, and take its state (pushed as
 * `job.update` like any other); a row whose job is gone from its queue
 * ends `cancelled`.
 */
export async function reconcileJobRows(deps: HousekeepingDeps) {
  const rows = await findOpenJobsUnchangedFor(deps.sql, deps.reconcileAfterMs / 1000, RECONCILE_BATCH);
  let fixed = 0;
  for (const row of rows) {
    const job = await Job.fromId(deps.queues.queue(row.queue as QueueName), row.bull_id);
    if (!job) {
      if (await endVanishedJob(deps.sql, row, 'removed from its queue before its end was recorded')) fixed++;
      continue;
    }
    const actual = await stateOf(job);
    if (!actual || actual.status === row.status) continue;
    await deps.tracker.report(actual);
    fixed++;
  }
  if (fixed > 0) deps.logger.warn({ checked: rows.length, fixed }, 'job rows brought in line with their queue (a process ended before recording them)');
  return { checked: rows.length, fixed };
}

/** The job's record as BullMQ has it now. */
async function stateOf(job: Job): Promise<JobRecord | undefined> {
  switch (await job.getState()) {
    case 'completed':
      return recordOf(job, 'completed', { result: (job.returnvalue as JobRecord['result']) ?? null });
    case 'failed':
      return recordOf(job, job.failedReason === 'cancelled' ? 'cancelled' : 'failed', { error: job.failedReason ?? null });
    case 'active':
      return recordOf(job, 'processing');
    case 'unknown':
      return undefined;
    default: // waiting, prioritized, delayed, waiting-children
      return recordOf(job, 'queued');
  }
}
