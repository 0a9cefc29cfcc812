import type { Job } from 'bullmq';
import type { RedisClient } from '../realtime/redis-client.ts';

/**
 * The one place that knows how BullMQ keeps a running job's lock. BullMQ has
 * no public call that tells whether a token still holds a job (`extendLock`
 * would renew it as a side effect), so a run reads the lock key itself: a
 * string at `<prefix>:<queue>:<job id>:lock` holding the run's token, the
 * key BullMQ's `Job#extendLock` and `moveToFinished` check. Redis is passed
 * in (the workers' own connection), never taken from the job's protected
 * `queue`. test/integration/job-lock.test.ts fails if BullMQ's layout changes.
 */

/** A run's claim on its job: BullMQ's lock key and the token this run holds it with. */
export interface JobLock {
  key: string;
  token: string;
}

/**
 * The lock this run must still hold when it writes or publishes, or
 * undefined for a job run outside a worker (no token: the run is its own
 * owner). A run whose process was frozen longer than the lock (a blocked
 * event loop, a long GC pause) has lost it: BullMQ declared the job stalled
 * and runs it again elsewhere, so the late run must neither publish nor
 * write (found by the stall drill).
 */
export function lockOf(job: Pick<Job, 'prefix' | 'queueName' | 'id'>, token: string | undefined): JobLock | undefined {
  if (token === undefined || job.id === undefined) return undefined;
  return { key: `${job.prefix}:${job.queueName}:${job.id}:lock`, token };
}

/** Whether a run still holds its job's lock (one GET; the result writer checks a whole batch in one MGET instead). */
export async function holdsLock(redis: RedisClient, lock: JobLock | undefined): Promise<boolean> {
  if (!lock) return true;
  return (await redis.get(lock.key)) === lock.token;
}
