import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import pino from 'pino';
import postgres from 'postgres';
import type { Redis } from 'ioredis';
import { reconcileJobRows } from '../../jobs/handlers/jobs-housekeeping.ts';
import { recordOf } from '../../jobs/job-records.ts';
import { createJobTracker, type JobTracker } from '../../jobs/job-tracker.ts';
import { createPublisher } from '../../realtime/publisher.ts';
import { createSql } from '../../sql/client.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { TEST_DATABASE_URL } from '../support/env.ts';
import { createTestRedis, removePrefix, testPrefix } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

describe('job tracker', () => {
  const prefix = testPrefix();
  let db: TestDatabase;
  let redis: Redis;
  let queue: Queue;
  let tracker: JobTracker;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = createTestRedis();
    queue = new Queue('chapters', { connection: redis, prefix });
    const publisher = createPublisher({ redis, prefix, streamMaxLen: 100 });
    tracker = createJobTracker({ sql: db.sql, publisher, logger: pino({ level: 'silent' }), maxBatchRows: 100, maxQueuedRows: 1000 });
  });
  afterAll(async () => {
    await tracker?.close();
    await queue?.close();
    redis?.disconnect();
    await db?.drop();
    await removePrefix(prefix);
  });

  const statusOf = async (bullId: string) =>
    (await db.sql<{ status: string }[]>`select status from jobs where bull_id = ${bullId}`)[0]?.status;

  it('keeps a finished job finished when the same job id is added again (a no-op in BullMQ, as when a stalled ingest re-adds its flow)', async () => {
    const first = await queue.add('chapter.process', {}, { jobId: 'chapter-a-v1' });
    tracker.queued([first]);
    await tracker.flush();
    expect(await statusOf('chapter-a-v1')).toBe('queued');
    await tracker.report(recordOf(first, 'processing'));
    await tracker.report(recordOf(first, 'completed'));
    await tracker.flush();
    expect(await statusOf('chapter-a-v1')).toBe('completed');

    // The second add returns a Job stamped now; its creation must not rewind the row.
    await new Promise((r) => setTimeout(r, 5));
    const again = await queue.add('chapter.process', {}, { jobId: 'chapter-a-v1' });
    expect(again.timestamp).toBeGreaterThan(first.timestamp);
    tracker.queued([again]);
    await tracker.flush();
    expect(await statusOf('chapter-a-v1')).toBe('completed');
  });

  it('lets a report win over a creation merged into the same batch, whichever came first', async () => {
    const job = await queue.add('chapter.process', {}, { jobId: 'chapter-b-v1' });
    const done = tracker.report(recordOf(job, 'completed'));
    tracker.queued([await queue.add('chapter.process', {}, { jobId: 'chapter-b-v1' })]);
    await done;
    await tracker.flush();
    expect(await statusOf('chapter-b-v1')).toBe('completed');
  });

  it('cancels a debounced job replaced by a newer one, even when the newer one is recorded first', async () => {
    const dedup = { id: 'summary-d', ttl: 60_000, extend: true, replace: true };
    const older = await queue.add('chapter.refresh', {}, { delay: 60_000, deduplication: dedup });
    await new Promise((r) => setTimeout(r, 5));
    const newer = await queue.add('chapter.refresh', {}, { delay: 60_000, deduplication: dedup });
    expect(newer.id).not.toBe(older.id);
    expect(await queue.getJob(older.id!)).toBeUndefined(); // BullMQ replaced it
    // The newer add's process reports first; the older one's (slow, frozen) process afterwards.
    tracker.queued([newer]);
    await tracker.flush();
    tracker.queued([older]);
    await tracker.flush();
    expect(await statusOf(older.id!)).toBe('cancelled');
    expect(await statusOf(newer.id!)).toBe('queued');
  });

  it('records a state reported while PostgreSQL refuses connections once it accepts them again, without holding up the caller', async () => {
    const sql = createSql(db.url, { max: 1 });
    const own = createJobTracker({
      sql, publisher: createPublisher({ redis, prefix, streamMaxLen: 100 }), logger: pino({ level: 'silent' }), maxBatchRows: 100, maxQueuedRows: 1000,
    });
    const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      const job = await queue.add('chapter.process', {}, { jobId: 'chapter-c-v1' });
      await admin.unsafe(`alter database "${db.name}" allow_connections false`);
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${db.name}`;
      const started = Date.now();
      await own.report(recordOf(job, 'completed'));
      expect(Date.now() - started).toBeLessThan(5000); // the first write failed; the retries go on in the background
      await new Promise((r) => setTimeout(r, 1500));
      await admin.unsafe(`alter database "${db.name}" allow_connections true`);
      await waitFor('the completed state to be written by a retry', async () => (await statusOf('chapter-c-v1')) === 'completed', 20_000);
    } finally {
      await admin.unsafe(`alter database "${db.name}" allow_connections true`);
      await admin.end();
      await own.close();
      await sql.end({ timeout: 5 });
    }
  });

  it('brings rows left open by a process that died in line with BullMQ: completed, still waiting, or gone from the queue', async () => {
    const documents = new Queue('documents', { connection: redis, prefix });
    const worker = new Worker('documents', null, { connection: redis.duplicate({ maxRetriesPerRequest: null }), prefix });
    try {
      const done = await documents.add('document.finalize', {}, { jobId: 'reconcile-done' });
      const waiting = await documents.add('document.finalize', {}, { jobId: 'reconcile-waiting' });
      const gone = await documents.add('document.finalize', {}, { jobId: 'reconcile-gone' });
      // What a worker recorded before it was killed; BullMQ then ran the first job to its end elsewhere.
      await Promise.all([tracker.report(recordOf(done, 'processing')), tracker.report(recordOf(waiting, 'queued')), tracker.report(recordOf(gone, 'processing'))]);
      await tracker.flush();
      const running = (await worker.getNextJob('token-1'))!;
      expect(running.id).toBe('reconcile-done');
      await running.moveToCompleted({ total: 3 }, 'token-1', false);
      await gone.remove();

      const queues = { queue: (name: string) => (name === 'documents' ? documents : queue) };
      const outcome = await reconcileJobRows({ sql: db.sql, queues, tracker, retentionDays: 30, reconcileAfterMs: 0, logger: pino({ level: 'silent' }) });
      await tracker.flush();
      expect(outcome.fixed).toBeGreaterThanOrEqual(2);
      const rows = await db.sql<{ bull_id: string; status: string; result: unknown; error: string | null }[]>`
        select bull_id, status, result, error from jobs where bull_id like 'reconcile-%' order by bull_id`;
      expect(rows).toEqual([
        { bull_id: 'reconcile-done', status: 'completed', result: { total: 3 }, error: null },
        { bull_id: 'reconcile-gone', status: 'cancelled', result: null, error: expect.stringContaining('removed from its queue') },
        { bull_id: 'reconcile-waiting', status: 'queued', result: null, error: null },
      ]);
    } finally {
      await worker.close();
      await documents.close();
    }
  });
});
