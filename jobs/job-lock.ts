import type { Job } from 'bullmq';

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
export function lockOf(job: Job, token: string | undefined): JobLock | undefined {
  if (token === undefined || job.id === undefined) return undefined;
  return { key: `${job.prefix}:${job.queueName}:${job.id}:lock`, token };
}

/** Whether this run still holds its job's BullMQ lock (one GET; the result writer checks a whole batch in one MGET instead). */
export async function holdsLock(job: Job, token: string | undefined): Promise<boolean> {
  const lock = lockOf(job, token);
  if (!lock) return true;
  // BullMQ keeps the worker's Redis client on the job's queue (protected, hence the index access).
  const client = await job['queue'].client;
  return (await client.get(lock.key)) === lock.token;
}
