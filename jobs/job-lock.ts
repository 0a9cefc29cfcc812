import type { Job } from 'bullmq';

/**
 * Whether this run still holds its job's BullMQ lock. A run whose process
 * was frozen longer than the lock (a blocked event loop, a long GC pause)
 * has lost it: BullMQ declared the job stalled and runs it again elsewhere,
 * so the late run must neither publish nor write (found by the stall drill).
 * Without a token (a job run outside a worker) the run is its own owner.
 */
export async function holdsLock(job: Job, token: string | undefined): Promise<boolean> {
  if (token === undefined || job.id === undefined) return true;
  // BullMQ keeps the worker's Redis client on the job's queue (protected, hence the index access).
  const client = await job['queue'].client;
  return (await client.get(`${job.prefix}:${job.queueName}:${job.id}:lock`)) === token;
}
