import type { Logger } from 'pino';
import type { Sql } from '../sql/client.ts';
import { deleteFinishedJobs } from '../sql/queries/jobs.ts';
import { JOB_QUEUE, QUEUES } from './contracts.ts';
import { jobOptions, type JobPolicy, type JobQueues } from './queues.ts';

/** The job scheduler's id: one schedule per deployment, however many processes upsert it. */
export const HOUSEKEEPING_SCHEDULER_ID = 'jobs-housekeeping';

/** Registers (or updates) the repeatable housekeeping job; idempotent, so every worker process may call it. */
export async function scheduleHousekeeping(queues: JobQueues, policy: JobPolicy, everyMs: number): Promise<void> {
  const { removeOnComplete, removeOnFail, priority } = jobOptions('jobs.housekeeping', policy);
  await queues.queue(JOB_QUEUE['jobs.housekeeping']).upsertJobScheduler(
    HOUSEKEEPING_SCHEDULER_ID,
    { every: everyMs },
    { name: 'jobs.housekeeping', data: {}, opts: { removeOnComplete, removeOnFail, priority } },
  );
}

export interface HousekeepingDeps {
  sql: Sql;
  queues: Pick<JobQueues, 'queue'>;
  retentionDays: number;
  logger: Logger;
}

/** Deletes finished `jobs` rows past retention, and BullMQ's own finished jobs as old. */
export async function runHousekeeping(deps: HousekeepingDeps) {
  const rows = await deleteFinishedJobs(deps.sql, deps.retentionDays);
  const graceMs = deps.retentionDays * 24 * 3600 * 1000;
  let trimmed = 0;
  for (const name of Object.values(QUEUES)) {
    const queue = deps.queues.queue(name);
    for (const set of ['completed', 'failed'] as const) trimmed += (await queue.clean(graceMs, 10_000, set)).length;
  }
  deps.logger.info({ rows, trimmed }, 'housekeeping done');
  return { rows_deleted: rows, bullmq_trimmed: trimmed };
}
