import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHeraldProcess, type HeraldProcess } from '../support/cluster.ts';
import { upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The windowed ingest's chain (jobs/ingest-window.ts) must survive the
 * process that should release the next chapters dying: a worker SIGKILLed
 * mid-window leaves its jobs stalled; another worker runs them again, and
 * their releases happen then.
 */
describe('a worker SIGKILLed in the middle of a windowed ingest', () => {
  let api: TestHerald;
  const workers: HeraldProcess[] = [];

  beforeAll(async () => {
    api = await startTestHerald({ roles: ['api', 'gateway'] });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.process.kill()));
    await api?.close();
  });

  it('does not strand the document: every chapter completes, the finalize job runs once', async () => {
    // A small window and slow chapters: the killed worker holds jobs whose releases have not all landed.
    const deployment = {
      databaseUrl: api.db.url,
      prefix: api.prefix,
      env: { INGEST_WINDOW_PER_USER: '3', AI_SIMULATED_LATENCY_MS: '150', WORKER_CONCURRENCY: '4', JOB_LOCK_MS: '5000' },
    };
    workers.push(await startHeraldProcess('worker', deployment));
    const doc = await upload(api, 'kim', manuscript(40, 20), { title: 'Kill me' });
    const completed = async () => {
      const [row] = await api.db.sql<{ n: number }[]>`
        select count(*)::int as n from chapter_results where document_id = ${doc.documentId} and status = 'completed'`;
      return row!.n;
    };
    await waitFor('a few chapters to complete', async () => (await completed()) >= 6, 60_000);
    await workers[0]!.process.kill(); // SIGKILL, with chapter jobs running
    expect(await completed()).toBeLessThan(40);

    workers.push(await startHeraldProcess('worker', deployment));
    await waitFor('the document to complete', async () => {
      const [row] = await api.db.sql<{ status: string }[]>`select status from documents where id = ${doc.documentId}`;
      return row!.status === 'completed';
    }, 120_000, 100);
    expect(await completed()).toBe(40);
    // The finalize job ran once: it sends one "analysed" notification after settling the document.
    const notices = () => api.db.sql`select 1 from notifications where document_id = ${doc.documentId} and kind = 'document.ingested'`;
    await waitFor('the "analysed" notification', async () => (await notices()).length > 0);
    expect(await notices()).toHaveLength(1);
  }, 180_000);
});
