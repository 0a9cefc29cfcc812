import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchWriter } from '../../jobs/batch-writer.ts';
import { decodeEmbedding, upsertChapterResults, type ChapterResultRow } from '../../sql/queries/chapter-results.ts';
import { insertDocument } from '../../sql/queries/documents.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { manuscript, startTestHerald } from '../support/herald.ts';
import { connectClient, waitForDocumentDone } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

describe('batched writes', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function seedChapters(count: number): Promise<{ documentId: string; chapterIds: string[] }> {
    const documentId = randomUUID();
    const chapterIds = Array.from({ length: count }, () => randomUUID());
    await db.sql`insert into users (id) values ('w') on conflict do nothing`;
    await db.sql.begin((tx) =>
      insertDocument(tx, {
        id: documentId,
        ownerId: 'w',
        title: 't',
        kind: 'book',
        wordCount: 1,
        jobId: randomUUID(),
        chapters: chapterIds.map((id, index) => ({ id, index, title: `c${index}`, content: 'x', wordCount: 1 })),
      }),
    );
    return { documentId, chapterIds };
  }

  const row = (documentId: string, chapterId: string, summary: string, chapterVersion = 1): ChapterResultRow => ({
    chapterId,
    documentId,
    status: 'completed',
    progress: 100,
    summary,
    embedding: [0.6, 0.8],
    error: null,
    chapterVersion,
    attempts: 1,
  });

  it('merges two rows for the same chapter in one batch (the latest wins) instead of failing the statement', async () => {
    const { documentId, chapterIds } = await seedChapters(2);
    const writes: number[] = [];
    const writer = createBatchWriter<ChapterResultRow>({
      key: (r) => r.chapterId,
      write: async (rows) => {
        writes.push(rows.length);
        await upsertChapterResults(db.sql, rows);
      },
      maxBatchRows: 100,
      maxQueuedRows: 100,
      mode: 'interval',
      minRows: 100,
      maxWaitMs: 50,
    });
    await Promise.all([
      writer.add(row(documentId, chapterIds[0]!, 'first')),
      writer.add(row(documentId, chapterIds[1]!, 'other')),
      writer.add(row(documentId, chapterIds[0]!, 'second')),
    ]);
    expect(writes).toEqual([2]);
    const stored = await db.sql<{ chapter_id: string; summary: string; embedding: Buffer }[]>`
      select chapter_id, summary, embedding from chapter_results where document_id = ${documentId}`;
    expect(new Map(stored.map((s) => [s.chapter_id, s.summary]))).toEqual(
      new Map([[chapterIds[0], 'second'], [chapterIds[1], 'other']]),
    );
    expect(decodeEmbedding(stored[0]!.embedding).map((x) => Math.round(x * 1e6) / 1e6)).toEqual([0.6, 0.8]);
    await writer.close();
  });

  it('never lets a result of an older chapter version overwrite a newer one', async () => {
    const { documentId, chapterIds } = await seedChapters(1);
    await upsertChapterResults(db.sql, [row(documentId, chapterIds[0]!, 'from v2', 2)]);
    await upsertChapterResults(db.sql, [row(documentId, chapterIds[0]!, 'from v1', 1)]);
    const [stored] = await db.sql<{ summary: string; chapter_version: number }[]>`
      select summary, chapter_version from chapter_results where chapter_id = ${chapterIds[0]!}`;
    expect(stored).toEqual({ summary: 'from v2', chapter_version: 2 });
  });

  it('writes 5,000 rows in one statement (no parameter ceiling) and skips rows of deleted chapters', async () => {
    const { documentId, chapterIds } = await seedChapters(5000);
    const rows = chapterIds.map((id, i) => row(documentId, id, `summary ${i}`));
    rows.push(row(documentId, randomUUID(), 'no such chapter'));
    const written = await upsertChapterResults(db.sql, rows);
    expect(written.size).toBe(5000);
    const [stored] = await db.sql<{ count: number }[]>`
      select count(*)::int as count from chapter_results where document_id = ${documentId}`;
    expect(stored!.count).toBe(5000);
  });

  it('holds producers back past maxQueuedRows and still writes every row', async () => {
    let active = 0;
    let maxPending = 0;
    let waits = 0;
    const seen: number[] = [];
    const writer = createBatchWriter<number>({
      key: String,
      maxBatchRows: 10,
      maxQueuedRows: 20,
      onWait: () => waits++,
      write: async (rows) => {
        active++;
        await new Promise((r) => setTimeout(r, 2));
        seen.push(...rows);
        active--;
      },
    });
    const adds = Array.from({ length: 500 }, (_, i) => {
      const p = writer.add(i);
      maxPending = Math.max(maxPending, writer.pending);
      return p;
    });
    await Promise.all(adds);
    await writer.close();
    expect(maxPending).toBeLessThanOrEqual(20);
    // Every add past the first 20 found the writer full at least once (what herald_writer_waits_total counts).
    expect(waits).toBeGreaterThanOrEqual(480);
    expect(active).toBe(0);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('runs afterWrite in batch order, overlapping the next write, and resolves add only after it', async () => {
    const log: string[] = [];
    let releaseFirst!: () => void;
    const firstAfter = new Promise<void>((r) => (releaseFirst = r));
    const writer = createBatchWriter<number>({
      key: String,
      maxBatchRows: 1,
      maxQueuedRows: 10,
      write: async (rows) => {
        log.push(`write ${rows[0]}`);
      },
      afterWrite: async (rows) => {
        if (rows[0] === 1) await firstAfter;
        log.push(`after ${rows[0]}`);
      },
    });
    let firstDone = false;
    const first = writer.add(1).then(() => (firstDone = true));
    const second = writer.add(2);
    // The second write ran while the first batch's afterWrite was still held back.
    await waitFor('the second write', () => log.includes('write 2'));
    expect(firstDone).toBe(false);
    releaseFirst();
    await Promise.all([first, second]);
    expect(log).toEqual(['write 1', 'write 2', 'after 1', 'after 2']);
    await writer.close();
  });

  it('rejects the adds of a batch whose write failed, so the job fails and is retried', async () => {
    const writer = createBatchWriter<number>({
      key: String,
      maxBatchRows: 10,
      maxQueuedRows: 10,
      write: async () => {
        throw new Error('database down');
      },
    });
    await expect(writer.add(1)).rejects.toThrow('database down');
    await writer.close();
  });

  it('ingests a 2,000-chapter upload whole', async () => {
    const h = await startTestHerald({ env: { WORKER_CONCURRENCY: '64' } });
    try {
      const client = await connectClient(h.url, await h.token('big'));
      const res = await h.api('big', '/api/documents', { method: 'POST', json: { title: 'Epic', content: manuscript(2000, 30) } });
      expect(res.status).toBe(202);
      const documentId = ((await res.json()) as { document: { id: string } }).document.id;
      await client.subscribe({ document_id: documentId });
      await waitForDocumentDone(client, documentId, 120_000);
      const [counts] = await h.db.sql<{ total: number; completed: number }[]>`
        select count(*)::int as total, count(*) filter (where r.status = 'completed')::int as completed
        from chapters c left join chapter_results r on r.chapter_id = c.id where c.document_id = ${documentId}`;
      expect(counts).toEqual({ total: 2000, completed: 2000 });
      expect(client.of(documentId).filter((e) => e.name !== 'job.update').at(-1)!.event).toMatchObject({ status: 'completed', completed: 2000, total: 2000 });
      client.close();
    } finally {
      await h.close();
    }
  });
});
