import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdsLock, lockOf } from '../../jobs/job-lock.ts';
import { createTestRedis, removePrefix, testPrefix } from '../support/redis.ts';

/**
 * jobs/job-lock.ts reads BullMQ's lock key itself (BullMQ has no public call
 * for it): these tests run a real BullMQ worker and fail if BullMQ moves the
 * lock or stops storing the run's token in it.
 */
describe("BullMQ's job lock, as jobs/job-lock.ts reads it", () => {
  const prefix = testPrefix();
  let redis: Redis;
  let queue: Queue;
  let worker: Worker | undefined;

  beforeAll(() => {
    redis = createTestRedis();
    queue = new Queue('locks', { connection: redis, prefix });
  });
  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    redis?.disconnect();
    await removePrefix(prefix);
  });

  it("finds the running job's lock under the key it computes, holding the run's token, and lets it go when the job ends", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const running = new Promise<{ job: Job; token: string | undefined; held: boolean; other: boolean; raw: string | null }>((resolve) => {
      worker = new Worker('locks', async (job, token) => {
        const lock = lockOf(job, token)!;
        resolve({
          job, token,
          held: await holdsLock(redis, lock),
          other: await holdsLock(redis, { ...lock, token: 'another-run' }),
          raw: await redis.get(`${prefix}:locks:${job.id}:lock`),
        });
        await released;
      }, { connection: redis, prefix, lockDuration: 30_000 });
    });
    await queue.add('x', {}, { jobId: 'lock-me' });
    const seen = await running;

    expect(seen.token, 'BullMQ hands the processor a lock token').toBeTypeOf('string');
    expect(lockOf(seen.job, seen.token)).toEqual({ key: `${prefix}:locks:lock-me:lock`, token: seen.token });
    expect(seen.raw, "BullMQ keeps the run's token at <prefix>:<queue>:<id>:lock").toBe(seen.token);
    expect(seen.held).toBe(true);
    expect(seen.other).toBe(false);

    const finished = new Promise<void>((resolve) => worker!.once('completed', () => resolve()));
    release();
    await finished;
    expect(await holdsLock(redis, lockOf(seen.job, seen.token))).toBe(false);
  });

  it('treats a run without a token (outside a worker) as its own owner', async () => {
    expect(lockOf({ prefix, queueName: 'locks', id: 'x' }, undefined)).toBeUndefined();
    expect(await holdsLock(redis, undefined)).toBe(true);
  });
});
