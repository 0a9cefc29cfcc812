import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { steerableProvider } from '../support/steerable-ai.ts';
import { waitFor } from '../support/wait.ts';

const documentStatus = async (h: TestHerald, userId: string, documentId: string) => {
  const res = await h.api(userId, `/api/documents/${documentId}`);
  return ((await res.json()) as { document: { status: string } }).document.status;
};

const completedChapters = async (h: TestHerald, documentId: string) => {
  const [row] = await h.db.sql<{ n: number }[]>`
    select count(*)::int as n from chapter_results where document_id = ${documentId} and status = 'completed'`;
  return row!.n;
};

describe('fair scheduling across writers', () => {
  let h: TestHerald;

  beforeAll(async () => {
    h = await startTestHerald();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("finishes another writer's 1-chapter document while a 10,000-chapter one runs, and the big one whole", async () => {
    const big = await upload(h, 'ada', manuscript(10_000, 12), { title: 'Ten thousand' });
    expect(big.chapters).toHaveLength(10_000);
    await waitFor('the big ingest to be under way', async () => (await completedChapters(h, big.documentId)) >= 200, 60_000);

    const small = await upload(h, 'bo', manuscript(1), { title: 'One' });
    await waitFor("bo's document to complete", async () => (await documentStatus(h, 'bo', small.documentId)) === 'completed', 60_000);
    // The user sees the small document done while the big one is still being processed.
    expect(await documentStatus(h, 'ada', big.documentId)).toBe('processing');
    expect(await completedChapters(h, big.documentId)).toBeLessThan(10_000);

    await waitFor("ada's document to complete", async () => (await documentStatus(h, 'ada', big.documentId)) === 'completed', 300_000, 250);
    expect(await completedChapters(h, big.documentId)).toBe(10_000);
    // The finalize job ran once: one job, one "analysed" notification.
    const finalize = await h.db.sql<{ status: string }[]>`
      select status from jobs where document_id = ${big.documentId} and type = 'document.finalize'`;
    expect(finalize.map((j) => j.status)).toEqual(['completed']);
    const notices = () => h.db.sql`select 1 from notifications where document_id = ${big.documentId} and kind = 'document.ingested'`;
    await waitFor('the "analysed" notification', async () => (await notices()).length > 0);
    expect(await notices()).toHaveLength(1);
  }, 360_000);
});

describe('per-user quotas of queued work', () => {
  let h: TestHerald;
  let ai: ReturnType<typeof steerableProvider>;

  beforeAll(async () => {
    // Nothing completes until ai.open(): every upload stays queued.
    ai = steerableProvider();
    h = await startTestHerald({ ai, env: { MAX_QUEUED_CHAPTERS_PER_USER: '6', MAX_UPLOADS_IN_FLIGHT_PER_USER: '2' } });
  });
  afterAll(async () => {
    ai?.open();
    await h?.close();
  });

  const post = (userId: string, chapters: number) =>
    h.api(userId, '/api/documents', { method: 'POST', json: { title: 'Quota', content: manuscript(chapters) } });
  const stored = async (userId: string) => {
    const [row] = await h.db.sql<{ documents: number; chapters: number }[]>`
      select count(distinct d.id)::int as documents, count(c.id)::int as chapters
      from documents d left join chapters c on c.document_id = d.id where d.owner_id = ${userId}`;
    return row!;
  };

  it('refuses an upload past the queued-chapter quota with 429 and Retry-After, writing nothing; one document always goes in', async () => {
    // Nothing queued: one document goes in even past the quota.
    expect((await post('uma', 8)).status).toBe(202);
    const refused = await post('uma', 1);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    expect(await stored('uma')).toEqual({ documents: 1, chapters: 8 });
    // Quotas are per user.
    expect((await post('vic', 3)).status).toBe(202);
    expect((await post('vic', 3)).status).toBe(202);
    expect((await post('vic', 1)).status).toBe(429);
    expect(await stored('vic')).toEqual({ documents: 2, chapters: 6 });
  });

  it('refuses a third upload in flight, and of concurrent uploads of one user lets exactly the room in', async () => {
    expect((await post('wes', 1)).status).toBe(202);
    const statuses = await Promise.all(Array.from({ length: 5 }, () => post('wes', 1).then((r) => r.status)));
    expect(statuses.sort()).toEqual([202, 429, 429, 429, 429]);
    expect(await stored('wes')).toEqual({ documents: 2, chapters: 2 });
  });

  it('lets the user upload again once the queued work is done', async () => {
    ai.open();
    await waitFor('every document to finish', async () => {
      const [row] = await h.db.sql<{ n: number }[]>`select count(*)::int as n from documents where status = 'processing'`;
      return row!.n === 0;
    }, 30_000);
    expect((await post('uma', 1)).status).toBe(202);
  });
});

describe('cancelling a waiting chapter job of a windowed ingest', () => {
  let h: TestHerald;
  let ai: ReturnType<typeof steerableProvider>;

  beforeAll(async () => {
    ai = steerableProvider();
    // One worker slot, held by chapter 0 until ai.open(): chapter 1 stays waiting.
    h = await startTestHerald({ ai, env: { INGEST_WINDOW_PER_USER: '2', WORKER_CONCURRENCY: '1' } });
  });
  afterAll(async () => {
    ai?.open();
    await h?.close();
  });

  it('still queues the chapters after it: only the cancelled chapter fails', async () => {
    const doc = await upload(h, 'cy', manuscript(6));
    // Chapter 1 is in the first window (chapters 0 and 1); it would release chapter 3, which releases chapter 5.
    const bullId = `chapter-${doc.chapters[1]!.id}-v1`;
    const row = await waitFor('the chapter job row', async () => (await h.db.sql<{ id: string }[]>`select id from jobs where bull_id = ${bullId}`)[0]);
    const res = await h.api('cy', `/api/jobs/${row.id}`, { method: 'DELETE' });
    expect(res.status).toBe(202);
    expect((await res.json()) as object).toMatchObject({ status: 'cancelled' });
    ai.open();
    await waitFor('the document to end', async () => (await documentStatus(h, 'cy', doc.documentId)) !== 'processing', 30_000);
    const results = await h.db.sql<{ chapter_id: string; status: string }[]>`
      select chapter_id, status from chapter_results where document_id = ${doc.documentId}`;
    const failed = results.filter((r) => r.status === 'failed').map((r) => r.chapter_id);
    expect(failed).toEqual([doc.chapters[1]!.id]);
    expect(results.filter((r) => r.status === 'completed')).toHaveLength(5);
  });
});
