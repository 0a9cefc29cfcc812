import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinProvider } from '../../jobs/ai/builtin.ts';
import type { AiProvider } from '../../jobs/ai/provider.ts';
import type { DocumentEvent } from '../../realtime/events.ts';
import { upload } from '../support/documents.ts';
import { connectClient } from '../support/socket.ts';
import { startTestHerald, type TestHerald } from '../support/herald.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The builtin provider, a little slower (so calls overlap when they can),
 * counting the summaries in flight; a chapter marked CURSED fails until
 * `heal()`. Nothing starts before `open()`, so a test sees every event.
 */
function countingProvider(): AiProvider & { open(): void; heal(): void; maxInFlight: number } {
  const real = createBuiltinProvider();
  let inFlight = 0;
  let healed = false;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const provider = {
    name: 'counting',
    maxInFlight: 0,
    open,
    heal: () => void (healed = true),
    async summarize(text: string, options?: Parameters<AiProvider['summarize']>[1]) {
      await gate;
      inFlight++;
      provider.maxInFlight = Math.max(provider.maxInFlight, inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (/\bCURSED\b/.test(text) && !healed) throw new Error('model refused (cursed)');
        return await real.summarize(text, options);
      } finally {
        inFlight--;
      }
    },
    embed: (text: string, options?: Parameters<AiProvider['embed']>[1]) => real.embed(text, options),
  };
  return provider;
}

const chapters = (count: number, cursed = -1) =>
  Array.from({ length: count }, (_, i) =>
    `# Part ${i + 1}\n\n${i === cursed ? 'This chapter is CURSED. ' : ''}Mara lit the lantern by the harbour, night ${i + 1}. Tomas rowed home.`,
  ).join('\n\n');

interface JobRow {
  bull_id: string;
  status: string;
  attempts: number;
  result: { chapters?: number; completed?: number; handed_off?: number; skipped?: number } | null;
}

describe('a large upload processed in runs of chapters', () => {
  let h: TestHerald;
  let ai: ReturnType<typeof countingProvider>;

  beforeAll(async () => {
    ai = countingProvider();
    h = await startTestHerald({ ai, env: { CHAPTERS_PER_JOB: '4', WORKER_CONCURRENCY: '3', CHAPTER_ATTEMPTS: '2', RETRY_BACKOFF_MS: '20' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const documentStatus = async (userId: string, documentId: string) =>
    ((await (await h.api(userId, `/api/documents/${documentId}`)).json()) as { document: { status: string } }).document.status;
  const chapterJobs = (documentId: string) =>
    h.db.sql<JobRow[]>`select bull_id, status, attempts, result from jobs where document_id = ${documentId} and type = 'chapter.process' order by bull_id`;

  it('takes 4 chapters per job, hands a failing chapter to a job of its own, and keeps AI calls within the worker slots', async () => {
    const doc = await upload(h, 'rue', chapters(128, 41), { title: 'Runs' });
    const cursed = doc.chapters[41]!.id;
    const client = await connectClient(h.url, await h.token('rue'));
    expect((await client.subscribe({ document_id: doc.documentId })).ok).toBe(true);
    ai.open();
    await waitFor('the document to finish', async () => (await documentStatus('rue', doc.documentId)) !== 'processing', 60_000);
    expect(await documentStatus('rue', doc.documentId)).toBe('partial');

    // 128 chapters in 32 runs of 4, every run completed; the cursed chapter's run says it handed one chapter off.
    await waitFor('every job row to be final', async () => {
      const rows = await chapterJobs(doc.documentId);
      return rows.length === 33 && rows.every((j) => ['completed', 'failed'].includes(j.status));
    });
    const jobs = await chapterJobs(doc.documentId);
    const runs = jobs.filter((j) => j.bull_id.startsWith('chapters-'));
    expect(runs).toHaveLength(32);
    expect(runs.every((j) => j.status === 'completed' && j.result?.chapters === 4)).toBe(true);
    expect(runs.filter((j) => j.result?.handed_off === 1)).toHaveLength(1);
    expect(runs.reduce((n, j) => n + (j.result?.completed ?? 0), 0)).toBe(127);
    // The cursed chapter failed in its own job, after that job's own CHAPTER_ATTEMPTS.
    const own = jobs.filter((j) => !j.bull_id.startsWith('chapters-'));
    expect(own).toMatchObject([{ bull_id: `chapter-${cursed}-v1`, status: 'failed', attempts: 2 }]);
    const results = await h.db.sql<{ status: string; n: number }[]>`
      select status, count(*)::int as n from chapter_results where document_id = ${doc.documentId} group by status order by status`;
    expect(results).toEqual([{ status: 'completed', n: 127 }, { status: 'failed', n: 1 }]);
    // Announced as a retry when the run handed it off (with the error), then as its own job's retry, then failed.
    const settled = client.of(doc.documentId)
      .filter((e) => e.name === 'chapter.status' && (e.event as DocumentEvent<'chapter.status'>).chapter_id === cursed)
      .map((e) => e.event as DocumentEvent<'chapter.status'>)
      .filter((e) => e.status !== 'processing');
    expect(settled.map((e) => e.status)).toEqual(['queued', 'queued', 'failed']);
    expect(settled[0]).toMatchObject({ error: expect.stringContaining('model refused') });
    client.close();

    // Runs share the process's 3 worker slots (the handed-off chapter's own job may take one more).
    expect(ai.maxInFlight).toBeLessThanOrEqual(4);

    // A client finds the failed chapter's job by its chapter_id, and retries it.
    const listed = (await (await h.api('rue', `/api/documents/${doc.documentId}/jobs?limit=500`)).json()) as {
      jobs: { id: string; status: string; chapter_id: string | null; type: string }[];
    };
    const failed = listed.jobs.find((j) => j.chapter_id === cursed);
    expect(failed).toMatchObject({ status: 'failed', type: 'chapter.process' });
    expect(listed.jobs.filter((j) => j.type === 'chapter.process' && j.chapter_id === null)).toHaveLength(32);
    ai.heal();
    expect((await h.api('rue', `/api/jobs/${failed!.id}/retry`, { method: 'POST' })).status).toBe(202);
    await waitFor('the retried chapter to complete', async () => {
      const [row] = await h.db.sql<{ status: string }[]>`select status from chapter_results where chapter_id = ${cursed}`;
      return row?.status === 'completed';
    });
  }, 90_000);

  it('keeps one job per chapter for a document under 32 chapters', async () => {
    ai.open();
    const doc = await upload(h, 'sol', chapters(31), { title: 'Singles' });
    await waitFor('the document to finish', async () => (await documentStatus('sol', doc.documentId)) === 'completed', 60_000);
    // Job rows are written in batches, a moment after the results.
    await waitFor('every chapter job row to say completed', async () => {
      const rows = await chapterJobs(doc.documentId);
      return rows.length === 31 && rows.every((j) => j.status === 'completed');
    });
    const jobs = await chapterJobs(doc.documentId);
    expect(jobs).toHaveLength(31);
    expect(jobs.every((j) => j.bull_id.startsWith('chapter-'))).toBe(true);
  }, 90_000);
});
