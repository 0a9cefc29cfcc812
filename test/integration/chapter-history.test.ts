import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_QUEUE } from '../../jobs/contracts.ts';
import { HOUSEKEEPING_SCHEDULER_ID } from '../../jobs/handlers/jobs-housekeeping.ts';
import { pruneChapterHistory } from '../../sql/queries/chapter-versions.ts';
import { upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { createTestRedis } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

describe('chapter history retention (housekeeping trim)', () => {
  let h: TestHerald;
  let connection: Redis;
  let queue: Queue;

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api', 'worker'], env: { CHAPTER_HISTORY_KEEP: '5', CHAPTER_HISTORY_HOURLY_DAYS: '2' } });
    connection = createTestRedis();
    queue = new Queue(JOB_QUEUE['jobs.housekeeping'], { connection, prefix: h.prefix });
    // The schedule's first trim runs at start-up; only this test's trims may run once it is done.
    await waitFor('the scheduled trim at start-up', async () =>
      (await queue.getJobs(['completed'])).some((j) => j.id?.startsWith(`repeat:${HOUSEKEEPING_SCHEDULER_ID}:`)), 30_000, 100);
  });
  afterAll(async () => {
    await queue?.close();
    connection?.disconnect();
    await h?.close();
  });

  /** Inserts versions of a chapter, each `minutes` after the start of the hour `hoursAgo` hours before this one (UTC). */
  const insertVersions = (chapterId: string, rows: [version: number, hoursAgo: number, minutes: number][]) => h.db.sql`
    insert into chapter_versions (chapter_id, version, content, word_count, saved_by, op_id, created_at)
    select ${chapterId}, v, 'Version ' || v, 2, 'hana', 'op-' || v,
           date_trunc('hour', now(), 'UTC') - make_interval(hours => h) + make_interval(mins => m)
    from unnest(${rows.map((r) => r[0])}::int[], ${rows.map((r) => r[1])}::int[], ${rows.map((r) => r[2])}::int[]) as t(v, h, m)`;

  const survivors = async (chapterId: string) =>
    (await h.db.sql<{ version: number }[]>`select version from chapter_versions where chapter_id = ${chapterId} order by version`).map((r) => r.version);

  /** Runs the trim task the way its scheduler does: a `jobs.housekeeping` job on the workers. */
  async function runTrim(): Promise<{ chapter_versions_deleted: number }> {
    const job = await queue.add('jobs.housekeeping', { task: 'trim' });
    await waitFor('the trim task to complete', async () => (await job.getState()) === 'completed', 30_000, 50);
    return (await queue.getJob(job.id!))!.returnvalue as { chapter_versions_deleted: number };
  }

  /** Three chapters whose histories cover every rule (`busy`: more than one delete batch of one chapter). */
  async function seed(options: { busy: boolean }) {
    const { chapters } = await upload(h, 'hana', manuscript(3));
    const [mixed, short, busy] = chapters.map((c) => c.id) as [string, string, string];
    await insertVersions(mixed, [
      // Three days ago: past the hourly days, all go.
      [2, 72, 0], [3, 72, 20], [4, 71, 0],
      // Thirty hours ago, one hour: its last (6) stays.
      [5, 30, 5], [6, 30, 35],
      // Alone in its hour: stays.
      [7, 4, 10],
      // One hour, three saves: the last (10) stays.
      [8, 3, 1], [9, 3, 2], [10, 3, 3],
      // The latest five stay whatever their hour.
      [11, 1, 1], [12, 1, 2], [13, 1, 3], [14, 1, 4], [15, 1, 5],
    ]);
    // No more versions than CHAPTER_HISTORY_KEEP: all stay, however old.
    await insertVersions(short, [[2, 100, 0], [3, 100, 1], [4, 100, 2], [5, 100, 3]]);
    // 6,000 saves in one hour ten hours ago (more than one delete batch), or 9 in two hours.
    const saves = options.busy ? 6000 : 9;
    await insertVersions(busy, Array.from({ length: saves }, (_, i) => [i + 2, options.busy ? 10 : 10 + (i % 2), Math.floor(i / 100)] as [number, number, number]));
    return { mixed, short, busy, lastBusy: saves + 1 };
  }

  async function expectKept(ids: Awaited<ReturnType<typeof seed>>) {
    expect(await survivors(ids.mixed)).toEqual([6, 7, 10, 11, 12, 13, 14, 15]);
    expect(await survivors(ids.short)).toEqual([2, 3, 4, 5]);
    const latest = Array.from({ length: 5 }, (_, i) => ids.lastBusy - 4 + i);
    expect(await survivors(ids.busy)).toEqual(latest);
  }

  it('keeps the latest versions of each chapter, then the last of each hour for the set days, and deletes the rest', async () => {
    const ids = await seed({ busy: true });
    const first = await runTrim();
    await expectKept(ids);
    // mixed: 2, 3, 4, 5, 8, 9; busy: all but the latest five of 6,000.
    expect(first.chapter_versions_deleted).toBe(6 + 5995);
    expect(await runTrim()).toEqual(expect.objectContaining({ chapter_versions_deleted: 0 }));
  });

  it('gives the same result in batches of one chapter and two versions', async () => {
    const ids = await seed({ busy: false });
    // busy: versions 2..10 alternating between two hours; the latest five (6..10) hold the last of each hour.
    const deleted = await pruneChapterHistory(h.db.sql, { keep: 5, hourlyDays: 2 }, { chapters: 1, versions: 2 });
    expect(deleted).toBe(6 + 4);
    await expectKept(ids);
  });
});
