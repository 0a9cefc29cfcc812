import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_QUEUE, type JobPayloads } from '../../jobs/contracts.ts';
import { summaryRefreshJob } from '../../jobs/outbox.ts';
import { createJobQueues, type JobQueues, type JobToEnqueue } from '../../jobs/queues.ts';
import { createTestRedis, removePrefix, testPrefix } from '../support/redis.ts';

/** The refresh a save of `version` schedules, as the outbox relay hands it to the queues. */
function refresh(chapterId: string, version: number, debounceMs: number): JobToEnqueue<'chapter.refresh'> {
  const row = summaryRefreshJob({ documentId: randomUUID(), chapterId, version }, debounceMs);
  return { name: 'chapter.refresh', payload: row.payload as JobPayloads['chapter.refresh'], options: { ...row.options, jobId: randomUUID() } };
}

describe('a debounced summary refresh', () => {
  const prefix = testPrefix();
  let redis: Redis;
  let queues: JobQueues;
  const added: Job[] = [];

  beforeAll(() => {
    redis = createTestRedis();
    queues = createJobQueues(redis, prefix, { chapterAttempts: 3, backoffMs: 1000 }, { added: (jobs) => added.push(...jobs) });
  });
  afterAll(async () => {
    await queues?.close();
    redis?.disconnect();
    await removePrefix(prefix);
  });

  const chapters = () => queues.queue(JOB_QUEUE['chapter.refresh']);
  /** When a delayed job is due (BullMQ's delayed score is the due time × 0x1000 plus a counter). */
  const dueAt = async (id: string) => Math.floor(Number(await redis.zscore(`${prefix}:${JOB_QUEUE['chapter.refresh']}:delayed`, id)) / 0x1000);

  it('stays one job through a burst of saves: the pending one takes the newest data and restarts its quiet time', async () => {
    const chapterId = randomUUID();
    const first = refresh(chapterId, 2, 60_000);
    await queues.enqueueMany([first]);
    expect(added.map((j) => j.id)).toEqual([first.options!.jobId]);
    const firstDue = await dueAt(first.options!.jobId!);

    await new Promise((r) => setTimeout(r, 20));
    const before = Date.now();
    await queues.enqueueMany([refresh(chapterId, 3, 60_000)]);
    await queues.enqueueMany([refresh(chapterId, 4, 60_000)]);

    // No job was added, so none is announced: the one queued job carries the burst.
    expect(added).toHaveLength(1);
    const delayed = await chapters().getJobs(['delayed']);
    expect(delayed.map((j) => j.id)).toEqual([first.options!.jobId]);
    expect(delayed[0]!.data).toMatchObject({ chapterId, version: 4 });
    const due = await dueAt(first.options!.jobId!);
    expect(due).toBeGreaterThan(firstDue);
    expect(due).toBeGreaterThanOrEqual(before + 60_000);
  });

  it('gives a pending job that was already promoted the newest data, and adds no second job beside it', async () => {
    const chapterId = randomUUID();
    const first = refresh(chapterId, 2, 60_000);
    await queues.enqueueMany([first]);
    const pending = (await chapters().getJob(first.options!.jobId!))!;
    // Its quiet time is over: it waits for a worker.
    await pending.promote();
    added.length = 0;

    await queues.enqueueMany([refresh(chapterId, 3, 60_000)]);

    const jobs = (await chapters().getJobs(['delayed', 'prioritized', 'waiting'])).filter((j) => j.data.chapterId === chapterId);
    expect(jobs.map((j) => j.id)).toEqual([first.options!.jobId]);
    expect(jobs[0]!.data).toMatchObject({ version: 3 });
    expect(await jobs[0]!.getState()).toBe('prioritized');
  });

  it('adds a job as before when nothing is pending for the chapter, and when there is no quiet time', async () => {
    added.length = 0;
    const chapterId = randomUUID();
    const immediate = refresh(chapterId, 2, 0);
    await queues.enqueueMany([immediate, refresh(randomUUID(), 2, 60_000)]);
    expect(added).toHaveLength(2);
    expect(await chapters().getJob(immediate.options!.jobId!)).toBeDefined();
  });
});
