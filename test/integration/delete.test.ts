import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createTestRedis } from '../support/redis.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

describe('deleting a document mid-ingest', () => {
  let h: TestHerald;
  let redis: Redis;

  beforeAll(async () => {
    h = await startTestHerald({ env: { AI_SIMULATED_LATENCY_MS: '20', WORKER_CONCURRENCY: '2' } });
    redis = createTestRedis();
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
  });

  it('removes its rows, cancels its waiting jobs, and running jobs end quietly', async () => {
    const client = await connectClient(h.url, await h.token('owner'));
    const res = await h.api('owner', '/api/documents', { method: 'POST', json: { title: 'Gone', content: manuscript(60) } });
    const documentId = ((await res.json()) as { document: { id: string } }).document.id;
    await client.subscribe({ document_id: documentId });
    await waitFor('the first chapter to start', () => client.of(documentId).some((e) => e.name === 'chapter.status'));

    const del = await h.api('owner', `/api/documents/${documentId}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect((await h.api('owner', `/api/documents/${documentId}`)).status).toBe(404);
    const [rows] = await h.db.sql<{ n: number }[]>`
      select (select count(*) from chapters where document_id = ${documentId})::int
           + (select count(*) from chapter_results where document_id = ${documentId})::int as n`;
    expect(rows!.n).toBe(0);

    const queue = new Queue('chapters', { connection: redis, prefix: h.prefix });
    try {
      // Nothing of this document is left waiting, and what was running finishes.
      await waitFor('the chapter queue to drain', async () => {
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'waiting-children');
        return Object.values(counts).every((n) => n === 0);
      });
      expect(await queue.getFailed()).toEqual([]);
      // The waiting jobs were removed, not run: only the few already started completed (as skipped or done).
      expect(await queue.getCompletedCount()).toBeLessThan(10);
    } finally {
      await queue.close();
    }
    client.close();
  });
});
