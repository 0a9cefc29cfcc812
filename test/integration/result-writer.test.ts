import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { Redis } from 'ioredis';
import { createResultWriter, type ChapterOutcome } from '../../jobs/result-writer.ts';
import type { BatchWriter } from '../../jobs/batch-writer.ts';
import { documentKeys } from '../../realtime/keys.ts';
import { createPublisher } from '../../realtime/publisher.ts';
import { failUnfinishedChapters } from '../../sql/queries/chapter-results.ts';
import { insertDocument } from '../../sql/queries/documents.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createTestRedis, removePrefix, testPrefix } from '../support/redis.ts';
import { DEFAULT_CONFIG } from '../support/config-defaults.ts';

/** The chapter writer on its own: real PostgreSQL and Redis, rows as the chapter worker hands them over. */
describe('the chapter result writer', () => {
  let db: TestDatabase;
  let redis: Redis;
  let writer: BatchWriter<ChapterOutcome>;
  const prefix = testPrefix();

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = createTestRedis();
    const publisher = createPublisher({ redis, prefix, streamMaxLen: 1000, ttlSeconds: DEFAULT_CONFIG.events.ttlSeconds });
    writer = createResultWriter({ sql: db.sql, redis, publisher, logger: pino({ level: 'silent' }), maxBatchRows: 100, maxQueuedRows: 1000 });
  });
  afterAll(async () => {
    await writer?.close();
    redis?.disconnect();
    await removePrefix(prefix);
    await db?.drop();
  });

  async function seedDocument(chapters: number): Promise<{ documentId: string; chapterIds: string[] }> {
    const documentId = randomUUID();
    const chapterIds = Array.from({ length: chapters }, () => randomUUID());
    await db.sql`insert into users (id) values ('w') on conflict do nothing`;
    await insertDocument(db.sql, {
      id: documentId, ownerId: 'w', title: 't', kind: 'book', wordCount: 1, jobId: randomUUID(),
      chapters: chapterIds.map((id, index) => ({ id, index, title: `c${index}`, content: 'x', wordCount: 1 })),
    });
    return { documentId, chapterIds };
  }

  const outcome = (documentId: string, chapterId: string, status: 'completed' | 'failed', extra: Partial<ChapterOutcome> = {}): ChapterOutcome => ({
    chapterId, documentId, chapterIndex: 0, status, progress: status === 'completed' ? 100 : 0,
    summary: status === 'completed' ? 'A summary.' : null, embedding: status === 'completed' ? [0.6, 0.8] : null,
    error: status === 'failed' ? 'model refused' : null, chapterVersion: 1, attempts: 1, ...extra,
  });

  /** The document's published events, in order, from its stream (what a client replays from seq 0). */
  async function published(documentId: string): Promise<{ name: string; event: Record<string, any> }[]> {
    const entries = await redis.xrange(documentKeys(prefix, documentId).events, '-', '+');
    return entries.map(([, fields]) => ({ name: fields[1]!, event: JSON.parse(fields[3]!) }));
  }
  const progressEvents = async (documentId: string) =>
    (await published(documentId)).filter((e) => e.name === 'document.progress').map(({ event: { total, completed, failed } }) => ({ total, completed, failed }));

  it('writes and publishes nothing for a run that lost its job lock, checked in the batch that writes', async () => {
    const { documentId, chapterIds: [kept, lost] } = await seedDocument(2);
    const lock = (id: string) => ({ key: `${prefix}:chapters:${id}:lock`, token: `token-${id}` });
    await redis.set(lock(kept!).key, lock(kept!).token);
    // The lost run's job stalled and another worker took it: the lock now holds that worker's token.
    await redis.set(lock(lost!).key, 'another-worker-token');

    await Promise.all([
      writer.add(outcome(documentId, kept!, 'completed', { lock: lock(kept!) })),
      writer.add(outcome(documentId, lost!, 'completed', { lock: lock(lost!), summary: 'From the stalled run.' })),
    ]);

    const rows = await db.sql<{ chapter_id: string }[]>`select chapter_id from chapter_results where document_id = ${documentId}`;
    expect(rows.map((r) => r.chapter_id)).toEqual([kept]);
    const statuses = (await published(documentId)).filter((e) => e.name === 'chapter.status').map((e) => e.event.chapter_id);
    expect(statuses).toEqual([kept]);
    expect(await progressEvents(documentId)).toEqual([{ total: 2, completed: 1, failed: 0 }]);
  });

  it('keeps the newest chapter version when two runs of one chapter reach the same batch', async () => {
    const { documentId, chapterIds: [chapter] } = await seedDocument(1);
    // Two jobs (one per chapter version), each holding its own lock.
    const run = (version: number) => ({ key: `${prefix}:chapters:${chapter}-v${version}:lock`, token: `token-v${version}` });
    for (const version of [1, 2]) await redis.set(run(version).key, run(version).token);
    await Promise.all([
      writer.add(outcome(documentId, chapter!, 'completed', { chapterVersion: 2, summary: 'Version two.', lock: run(2) })),
      writer.add(outcome(documentId, chapter!, 'completed', { chapterVersion: 1, summary: 'Version one.', lock: run(1) })),
    ]);
    const [row] = await db.sql<{ summary: string; chapter_version: number }[]>`select summary, chapter_version from chapter_results where chapter_id = ${chapter!}`;
    expect(row).toEqual({ summary: 'Version two.', chapter_version: 2 });
  });

  it('counts progress right through failures, retries that complete, and chapters failed by finalize', async () => {
    const { documentId, chapterIds: [a, b, c] } = await seedDocument(4);
    await writer.add(outcome(documentId, a!, 'failed'));
    await writer.add(outcome(documentId, b!, 'completed'));
    // A retry of the failed chapter (say, POST /api/jobs/:id/retry) completes it: failed goes down as completed goes up.
    await writer.add(outcome(documentId, a!, 'completed', { attempts: 2 }));
    // The same outcome written twice counts once.
    await writer.add(outcome(documentId, b!, 'completed', { attempts: 2 }));
    // Finalize records the chapters left without an outcome as failed, outside the writer.
    await failUnfinishedChapters(db.sql, documentId, 'processing ended without a result');
    await writer.add(outcome(documentId, c!, 'completed', { attempts: 2 }));

    expect(await progressEvents(documentId)).toEqual([
      { total: 4, completed: 0, failed: 1 },
      { total: 4, completed: 1, failed: 1 },
      { total: 4, completed: 2, failed: 0 },
      { total: 4, completed: 2, failed: 0 },
      // Then finalize failed c and d and c completed: every chapter final, so that closing progress is finalize's own.
    ]);
    const [counted] = await db.sql<{ total: number; completed: number; failed: number }[]>`
      select total, completed, failed from document_progress where document_id = ${documentId}`;
    const [aggregated] = await db.sql<{ total: number; completed: number; failed: number }[]>`
      select count(*)::int as total,
             count(*) filter (where r.status = 'completed')::int as completed,
             count(*) filter (where r.status = 'failed')::int as failed
      from chapters c left join chapter_results r on r.chapter_id = c.id where c.document_id = ${documentId}`;
    expect(counted).toEqual({ total: 4, completed: 3, failed: 1 });
    expect(counted).toEqual(aggregated);
  });
});
