import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { createBuiltinProvider, summarizeText } from '../../jobs/ai/builtin.ts';
import type { AiProvider } from '../../jobs/ai/provider.ts';
import type { SummaryRefreshResult } from '../../jobs/handlers/chapter-refresh.ts';
import type { DocumentEvent } from '../../realtime/events.ts';
import { autosave, upload } from '../support/documents.ts';
import { createTestRedis } from '../support/redis.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient, waitForDocumentDone } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

/** The builtin provider, recording summaries; a text containing a held marker waits until the test releases it. */
function countingProvider(): AiProvider & { summarized: string[]; holding: Map<string, number>; hold(marker: string): () => void } {
  const real = createBuiltinProvider();
  const gates = new Map<string, Promise<void>>();
  const provider = {
    name: 'counting',
    summarized: [] as string[],
    holding: new Map<string, number>(),
    hold(marker: string) {
      let release!: () => void;
      gates.set(marker, new Promise<void>((resolve) => (release = resolve)));
      return () => {
        gates.delete(marker);
        release();
      };
    },
    async summarize(text: string, options?: { signal?: AbortSignal }) {
      for (const [marker, gate] of gates) {
        if (!text.includes(marker)) continue;
        provider.holding.set(marker, (provider.holding.get(marker) ?? 0) + 1);
        await gate;
      }
      provider.summarized.push(text);
      return real.summarize(text, options);
    },
    embed: (text: string, options?: { signal?: AbortSignal }) => real.embed(text, options),
  };
  return provider;
}

const paragraph = (topic: string) =>
  `The ${topic} dominated every conversation in the village that winter. ` +
  `Fishermen argued about the ${topic} at the harbour, and the children drew the ${topic} on every wall. ` +
  `By spring the ${topic} had become a legend that nobody could quite explain.`;

describe('summary refresh on edit', () => {
  let h: TestHerald;
  let ai: ReturnType<typeof countingProvider>;
  let redis: Redis;
  let queue: Queue;

  beforeAll(async () => {
    ai = countingProvider();
    h = await startTestHerald({ ai, env: { SUMMARY_DEBOUNCE_MS: '600' } });
    redis = createTestRedis();
    queue = new Queue('chapters', { connection: redis, prefix: h.prefix });
  });
  const releases: (() => void)[] = [];
  afterAll(async () => {
    for (const release of releases) release();
    await queue?.close();
    redis?.disconnect();
    await h?.close();
  });

  const refreshJobs = async (chapterId: string) =>
    ((await queue.getJobs(['completed'])) as Job[]).filter((j) => j.name === 'chapter.refresh' && j.data.chapterId === chapterId);
  const storedSummary = async (chapterId: string) => {
    const [row] = await h.db.sql<{ summary: string; chapter_version: number; embedding_version: number | null }[]>`
      select summary, chapter_version, embedding_version from chapter_results where chapter_id = ${chapterId}`;
    return row;
  };

  it('runs once (or twice) for a burst of 10 saves, with the last text, then reports reembedded:false for an unchanged meaning', async () => {
    const { documentId, chapters } = await upload(h, 'rui', manuscript(2));
    const chapterId = chapters[0]!.id;
    const client = await connectClient(h.url, await h.token('rui'));
    expect((await client.subscribe({ document_id: documentId })).ok).toBe(true);
    await waitForDocumentDone(client, documentId);

    let version = 1;
    let last = '';
    for (let i = 1; i <= 10; i++) {
      last = `${paragraph('lighthouse')} Draft ${i} of the ending.`;
      const res = await autosave(h, 'rui', chapterId, { base_version: version, content: last, op_id: randomUUID() });
      expect(res.status).toBe(200);
      version = res.body.chapter.version;
      // Typing pace: a save every ~60 ms, far inside the 600 ms quiet time, so the burst is one.
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(version).toBe(11);

    const refreshed = await waitFor('the summary of version 11', () =>
      client.of(documentId).find((e) => e.name === 'artifact.refreshed' && (e.event as DocumentEvent<'artifact.refreshed'>).version === 11),
    15_000);
    expect(refreshed.event).toMatchObject({ artifact: 'summary', chapter_id: chapterId, version: 11 });
    const runs = await refreshJobs(chapterId);
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs.length).toBeLessThanOrEqual(2);
    // Each job records the worker process that ran it (shown in the admin board).
    expect(runs[0]!.processedBy).toBe(`${hostname()}:${process.pid}`);
    // Each save within the quiet time rescheduled the pending job rather than replacing it: the burst is one job
    // (two if the quiet time ran out once between saves on a slow machine), never a cancelled one per save.
    const refreshRows = () => h.db.sql<{ status: string; error: string | null }[]>`
      select status, error from jobs where document_id = ${documentId} and type = 'chapter.refresh'`;
    await waitFor('every refresh job of the burst to be recorded completed', async () => (await refreshRows()).every((r) => r.status === 'completed'));
    expect((await refreshRows()).length).toBe(runs.length);
    const refreshUpdates = client.of(documentId)
      .map((e) => e.event as DocumentEvent<'job.update'>)
      .filter((e) => e.job?.type === 'chapter.refresh');
    expect(refreshUpdates.filter((e) => e.job.status === 'queued').length).toBeLessThanOrEqual(runs.length);
    expect(refreshUpdates.some((e) => e.job.status === 'cancelled')).toBe(false);
    expect(ai.summarized.filter((t) => t.includes('Draft')).length).toBe(runs.length);
    expect(ai.summarized.filter((t) => t.includes('Draft')).at(-1)).toBe(last);
    expect(await storedSummary(chapterId)).toMatchObject({ summary: summarizeText(last), chapter_version: 11 });
    // chapter.status with the new summary precedes artifact.refreshed, so snapshots show it.
    const names = client.of(documentId).map((e) => e.name);
    expect(names.lastIndexOf('chapter.status')).toBeLessThan(names.lastIndexOf('artifact.refreshed'));

    // Same words, different punctuation: the summary means the same, the embedding stays.
    const same = last.replace('Draft 10 of the ending.', 'Draft 10 of the ending!');
    expect((await autosave(h, 'rui', chapterId, { base_version: 11, content: same, op_id: randomUUID() })).status).toBe(200);
    await waitFor('the refresh of version 12', async () => (await refreshJobs(chapterId)).some((j) => j.returnvalue?.version === 12));
    const unchanged = (await refreshJobs(chapterId)).find((j) => j.returnvalue?.version === 12)!.returnvalue as SummaryRefreshResult;
    expect(unchanged).toMatchObject({ version: 12, reembedded: false });
    expect(await storedSummary(chapterId)).toMatchObject({ chapter_version: 12, embedding_version: 11 });

    // A different story: re-embedded.
    expect((await autosave(h, 'rui', chapterId, { base_version: 12, content: paragraph('shipwreck'), op_id: randomUUID() })).status).toBe(200);
    await waitFor('the refresh of version 13', async () => (await refreshJobs(chapterId)).some((j) => j.returnvalue?.version === 13));
    const changed = (await refreshJobs(chapterId)).find((j) => j.returnvalue?.version === 13)!.returnvalue as SummaryRefreshResult;
    expect(changed).toMatchObject({ version: 13, reembedded: true });
    expect(await storedSummary(chapterId)).toMatchObject({ chapter_version: 13, embedding_version: 13 });
    client.close();
  });

  it('never lets a job for older text overwrite the summary of a newer save', async () => {
    // Chapter 1's ingest job reads version 1 and is held inside the model call.
    const release = ai.hold('HOLD');
    releases.push(release);
    const { documentId, chapters } = await upload(h, 'rui', `# One\n\n${paragraph('storm')} HOLD.\n\n# Two\n\n${paragraph('harbour')}\n`);
    const chapterId = chapters[0]!.id;
    const client = await connectClient(h.url, await h.token('rui'));
    expect((await client.subscribe({ document_id: documentId })).ok).toBe(true);
    await waitFor('the ingest job to be held in the model call', () => ai.holding.get('HOLD') === 1);

    // A newer save and its refresh finish while the old job is still held.
    const fresh = paragraph('lighthouse');
    expect((await autosave(h, 'rui', chapterId, { base_version: 1, content: fresh, op_id: randomUUID() })).status).toBe(200);
    await waitFor('the refresh of version 2', () =>
      client.of(documentId).some((e) => e.name === 'artifact.refreshed' && (e.event as DocumentEvent<'artifact.refreshed'>).version === 2),
    );
    release();
    await waitForDocumentDone(client, documentId);

    expect(await storedSummary(chapterId)).toMatchObject({ summary: summarizeText(fresh), chapter_version: 2 });
    const statuses = client
      .of(documentId)
      .filter((e) => e.name === 'chapter.status' && (e.event as DocumentEvent<'chapter.status'>).chapter_id === chapterId)
      .map((e) => e.event as DocumentEvent<'chapter.status'>);
    // No completed status for version 1 ever reached the client after version 2's.
    expect(statuses.filter((s) => s.status === 'completed').map((s) => s.version)).toEqual([2]);
    // Nor any other: the old run's late progress is dropped at publish time, so the versions never go back.
    const versions = statuses.map((s) => s.version ?? 0);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(statuses.at(-1)).toMatchObject({ status: 'completed', version: 2 });
    const snapshot = (await (await h.api('rui', `/api/documents/${documentId}`)).json()) as { chapters: { id: string; summary: string; summary_version: number }[] };
    expect(snapshot.chapters.find((c) => c.id === chapterId)).toMatchObject({ summary: summarizeText(fresh), summary_version: 2 });
    client.close();
  });

  it('keeps a save that lands while its refresh runs, and refreshes again with it afterwards', async () => {
    const { documentId, chapters } = await upload(h, 'rui', manuscript(1));
    const chapterId = chapters[0]!.id;
    const client = await connectClient(h.url, await h.token('rui'));
    expect((await client.subscribe({ document_id: documentId })).ok).toBe(true);
    await waitForDocumentDone(client, documentId);

    const release = ai.hold('PAUSE');
    releases.push(release);
    expect((await autosave(h, 'rui', chapterId, { base_version: 1, content: `${paragraph('storm')} PAUSE.`, op_id: randomUUID() })).status).toBe(200);
    await waitFor('the refresh of version 2 to be running', () => ai.holding.get('PAUSE') === 1);
    const last = paragraph('lighthouse');
    expect((await autosave(h, 'rui', chapterId, { base_version: 2, content: last, op_id: randomUUID() })).status).toBe(200);
    release();

    await waitFor('the summary of version 3', async () => (await storedSummary(chapterId))?.chapter_version === 3, 15_000);
    expect(await storedSummary(chapterId)).toMatchObject({ summary: summarizeText(last) });
    expect((await refreshJobs(chapterId)).map((j) => (j.returnvalue as { version: number }).version).sort()).toEqual([2, 3]);
    client.close();
  });
});
