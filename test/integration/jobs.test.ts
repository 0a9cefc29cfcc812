import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRowId } from '../../jobs/job-records.ts';
import type { DocumentEvent } from '../../realtime/events.ts';
import { share, upload } from '../support/documents.ts';
import { startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient, type RecordingClient } from '../support/socket.ts';
import { steerableProvider } from '../support/steerable-ai.ts';
import { waitFor } from '../support/wait.ts';

type Job = { id: string; type: string; status: string; attempts: number; max_attempts: number; error: string | null; document_id: string; priority: string };

const chapterJobId = (chapterId: string) => jobRowId('chapters', `chapter-${chapterId}-v1`);

describe('job records and control', () => {
  let h: TestHerald;
  let worker: TestHerald;
  let ai: ReturnType<typeof steerableProvider>;
  let client: RecordingClient;
  let documentId: string;
  let fine: string, cursed: string, hanging: string;

  const getJob = async (id: string, user = 'jo') => {
    const res = await h.api(user, `/api/jobs/${id}`);
    return { status: res.status, job: (await res.json()) as Job };
  };
  const updates = (jobId: string) =>
    client.of(documentId).filter((e) => e.name === 'job.update').map((e) => (e.event as DocumentEvent<'job.update'>).job as Job).filter((j) => j.id === jobId);

  beforeAll(async () => {
    ai = steerableProvider();
    const env = { CHAPTER_ATTEMPTS: '3', RETRY_BACKOFF_MS: '50', STUCK_JOB_SECONDS: '1' };
    // The worker starts once the test watches the document, so the socket sees every job's first state.
    h = await startTestHerald({ roles: ['api', 'gateway'], env });
    const doc = await upload(h, 'jo', [
      '# Fine\n\nThe harbour was calm. Mara lit the lantern.',
      '# Doomed\n\nThis chapter is CURSED and the model refuses it.',
      '# Slow\n\nThis chapter makes the model HANG until someone cancels it.',
    ].join('\n\n'));
    documentId = doc.documentId;
    [fine, cursed, hanging] = doc.chapters.map((c) => c.id) as [string, string, string];
    await share(h, 'jo', documentId, 'vic', 'viewer');
    client = await connectClient(h.url, await h.token('jo'));
    expect((await client.subscribe({ document_id: documentId })).ok).toBe(true);
    worker = await startTestHerald({ roles: ['worker'], db: h.db, prefix: h.prefix, ai, env });
    await waitFor('every chapter job to be recorded as queued', async () => (await getJob(chapterJobId(hanging))).status === 200);
    ai.open();
  });
  afterAll(async () => {
    client?.close();
    await worker?.close();
    await h?.close();
  });

  it('records a job that fails after its retries: queued, processing, queued again, then failed, each pushed as job.update', async () => {
    // A refresh re-summarises every chapter, so the cursed one fails each of its 3 attempts.
    const res = await h.api('jo', `/api/documents/${documentId}/refresh`, { method: 'POST' });
    expect(res.status).toBe(202);
    const { job_id: id } = (await res.json()) as { job_id: string };
    await waitFor('the refresh job to fail for good', () => updates(id).some((j) => j.status === 'failed'), 30_000);
    const statuses = updates(id).map((j) => j.status);
    // Its first `queued` is recorded by the process that enqueued it; if a worker took the job first, the newer state wins.
    expect(['queued', 'processing']).toContain(statuses[0]);
    expect(statuses.at(-1)).toBe('failed');
    // Between attempts the row is queued again (waiting out the backoff), with the attempt's error.
    expect(statuses.indexOf('queued', statuses.indexOf('processing'))).toBeGreaterThan(0);
    const { job } = await getJob(id);
    expect(job).toMatchObject({ status: 'failed', type: 'document.refresh', attempts: 3, max_attempts: 3, priority: 'high', document_id: documentId });
    expect(job.error).toContain('cursed');
    // The chapter job failed the same way (its routine transitions are chapter.status; its failure is a job.update too).
    await waitFor('the cursed chapter job to fail', async () => (await getJob(chapterJobId(cursed))).job.status === 'failed');
    expect((await getJob(chapterJobId(cursed))).job).toMatchObject({ attempts: 3, max_attempts: 3, priority: 'normal' });
    expect(updates(chapterJobId(cursed)).map((j) => j.status)).toEqual(['failed']);
    const history = (await (await h.api('jo', `/api/documents/${documentId}/refreshes`)).json()) as { refreshes: { job_id: string; status: string }[] };
    expect(history.refreshes[0]).toMatchObject({ job_id: id, status: 'failed' });
  });

  it('records a completed job and lists the document jobs newest first', async () => {
    await waitFor('the fine chapter job to complete', async () => (await getJob(chapterJobId(fine))).job.status === 'completed');
    const res = await h.api('jo', `/api/documents/${documentId}/jobs`);
    const { jobs } = (await res.json()) as { jobs: (Job & { created_at: string })[] };
    expect(jobs.map((j) => j.type)).toEqual(expect.arrayContaining(['document.ingest', 'document.finalize', 'chapter.process']));
    const times = jobs.map((j) => Date.parse(j.created_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('names the chapter each chapter job works on, and no chapter for other jobs', async () => {
    await waitFor('the fine chapter job to complete', async () => (await getJob(chapterJobId(fine))).job.status === 'completed');
    const { jobs } = (await (await h.api('jo', `/api/documents/${documentId}/jobs`)).json()) as { jobs: (Job & { chapter_id: string | null })[] };
    const chapterJobs = jobs.filter((j) => j.type === 'chapter.process');
    expect(chapterJobs.map((j) => j.chapter_id).sort()).toEqual([fine, cursed, hanging].sort());
    expect(jobs.filter((j) => j.type !== 'chapter.process').every((j) => j.chapter_id === null)).toBe(true);
  });

  it('counts a hanging job as stuck, then cancels it while it runs: it ends cancelled, never completed', async () => {
    const id = chapterJobId(hanging);
    await waitFor('the hanging job to be processing', async () => (await getJob(id)).job.status === 'processing');
    await waitFor('/health to report the stuck job', async () => {
      const body = (await (await fetch(`${h.url}/health`)).json()) as { stuck_jobs: number };
      return body.stuck_jobs >= 1;
    });
    expect((await h.api('vic', `/api/jobs/${id}`, { method: 'DELETE' })).status).toBe(403);
    expect((await h.api('eve', `/api/jobs/${id}`, { method: 'DELETE' })).status).toBe(404);
    const res = await h.api('jo', `/api/jobs/${id}`, { method: 'DELETE' });
    expect(res.status).toBe(202);
    await waitFor('the job to end cancelled', async () => (await getJob(id)).job.status === 'cancelled');
    // The row is written first and its job.update published right after, so the event may trail the REST answer.
    await waitFor('job.update saying cancelled', () => updates(id).length > 0);
    expect(updates(id).map((j) => j.status)).toEqual(['cancelled']);
    // Not retried: still cancelled once the retry delay has long passed and the document has finished.
    await waitFor('the document to finish', async () => ((await (await h.api('jo', `/api/documents/${documentId}`)).json()) as any).document.status !== 'processing');
    expect((await getJob(id)).job.status).toBe('cancelled');
    expect(updates(id).map((j) => j.status)).toEqual(['cancelled']);
    expect((await h.api('jo', `/api/jobs/${id}`, { method: 'DELETE' })).status).toBe(409);
  });

  it('retries a failed job (owner or editor only), pushes its job.update, and refuses to retry a completed one', async () => {
    const id = chapterJobId(cursed);
    expect((await h.api('vic', `/api/jobs/${id}/retry`, { method: 'POST' })).status).toBe(403);
    expect((await h.api('eve', `/api/jobs/${id}/retry`, { method: 'POST' })).status).toBe(404);
    ai.heal();
    const res = await h.api('jo', `/api/jobs/${id}/retry`, { method: 'POST' });
    expect(res.status).toBe(202);
    await waitFor('job.update saying the failed job is queued again', () => updates(id).some((j) => j.status === 'queued'));
    await waitFor('the retried job to complete', async () => (await getJob(id)).job.status === 'completed');
    const again = await h.api('jo', `/api/jobs/${id}/retry`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as any).error.code).toBe('job_not_failed');
  });

  it('answers queue counts', async () => {
    const res = await h.api('jo', '/api/queues');
    const body = (await res.json()) as { queues: { name: string; completed: number; failed: number }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual(['artifacts', 'chapters', 'documents']);
    expect(body.queues.find((q) => q.name === 'chapters')!.completed).toBeGreaterThanOrEqual(1);
  });
});
