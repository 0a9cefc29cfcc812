import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { createBuiltinProvider } from '../../jobs/ai/builtin.ts';
import type { AiProvider } from '../../jobs/ai/provider.ts';
import { countOutbox } from '../../sql/queries/outbox.ts';
import type { DocumentEvent, SubscribeAck } from '../../realtime/events.ts';
import { autosave, upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.ts';
import { connectClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

type Ok = Extract<SubscribeAck, { ok: true }>;

/** The builtin provider, recording every text it summarised. */
function recordingProvider(): AiProvider & { summarized: string[] } {
  const real = createBuiltinProvider();
  const provider = {
    name: 'recording',
    summarized: [] as string[],
    async summarize(text: string, options?: { signal?: AbortSignal }) {
      provider.summarized.push(text);
      return real.summarize(text, options);
    },
    embed: (text: string, options?: { signal?: AbortSignal }) => real.embed(text, options),
  };
  return provider;
}

describe('the outbox: nothing is lost while Redis is down', () => {
  let redis: PrivateRedis;
  let h: TestHerald;
  let ai: ReturnType<typeof recordingProvider>;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    ai = recordingProvider();
    h = await startTestHerald({ ai, env: { REDIS_URL: redis.url, OUTBOX_POLL_MS: '100', SUMMARY_DEBOUNCE_MS: '100' } });
  });
  afterAll(async () => {
    if (redis && !redis.running) await redis.restart().catch(() => {});
    await h?.close();
    await redis?.stop();
  });

  const summaryVersions = async (documentId: string) =>
    h.db.sql<{ chapter_id: string; chapter_version: number }[]>`
      select chapter_id, chapter_version from chapter_results where document_id = ${documentId} and status = 'completed'`;

  it('answers autosaves and package requests while Redis is down, then runs each refresh once and pushes the saves in order', async () => {
    const { documentId, chapters } = await upload(h, 'ola', manuscript(3));
    await waitFor('the ingest to finish', async () => (await summaryVersions(documentId)).length === 3, 30_000);
    // Its finalize job too: one still running when Redis goes (and comes back empty) would stay open until reconciled.
    await waitFor('the ingest\'s job rows to be finished', async () =>
      (await h.db.sql`select 1 from jobs where document_id = ${documentId} and status in ('queued', 'processing')`).length === 0, 30_000);
    // A collaborator's socket stays connected to the gateway through the outage.
    const live = await connectClient(h.url, await h.token('ola'));
    expect((await live.subscribe({ document_id: documentId })).ok).toBe(true);

    await redis.stop();
    // Two saves per chapter, interleaved; every one commits with Redis gone.
    const saves: { chapterId: string; version: number; content: string }[] = [];
    for (const round of [1, 2]) {
      for (const [i, chapter] of chapters.entries()) {
        const content = `Round ${round}: Ola rewrote chapter ${i + 1} while the cache was down, and Ola kept typing.`;
        const res = await autosave(h, 'ola', chapter.id, { base_version: round, content, op_id: randomUUID() });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        saves.push({ chapterId: chapter.id, version: res.body.chapter.version, content });
      }
    }
    const pkg = await h.api('ola', `/api/documents/${documentId}/package`, { method: 'POST' });
    expect(pkg.status).toBe(202);
    const { job_id: packageJobId } = (await pkg.json()) as { job_id: string };
    // Every side effect waits in PostgreSQL: 6 chapter.updated + 6 refresh jobs + package event + package job, at least.
    expect(await countOutbox(h.db.sql)).toBeGreaterThanOrEqual(14);

    await redis.restart();
    await waitFor('the outbox to drain', async () => (await countOutbox(h.db.sql)) === 0, 30_000);
    // Redis came back empty: the workers scheduled housekeeping (trim and reconcile) again.
    const probe = new Redis(redis.url, { maxRetriesPerRequest: null });
    const schedulers = new Queue('documents', { connection: probe, prefix: h.prefix });
    await waitFor('the housekeeping schedulers to be back', async () => (await schedulers.getJobSchedulersCount()) === 2);
    await schedulers.close();
    probe.disconnect();
    await waitFor('every chapter summarised at its last version', async () => {
      const rows = await summaryVersions(documentId);
      return rows.length === 3 && rows.every((r) => r.chapter_version === 3);
    }, 30_000);

    // Exactly one refresh per chapter, with the last text: the first round's never reached the model.
    const bull = new Redis(redis.url, { maxRetriesPerRequest: null });
    const chaptersQueue = new Queue('chapters', { connection: bull, prefix: h.prefix });
    const artifactsQueue = new Queue('artifacts', { connection: bull, prefix: h.prefix });
    try {
      // A refresh job ends a moment after its summary is stored (it publishes first).
      const refreshes = () => chaptersQueue.getJobs(['completed']).then((jobs) => (jobs as Job[]).filter((j) => j.name === 'chapter.refresh'));
      await waitFor('the refresh jobs to complete', async () => (await refreshes()).length >= chapters.length);
      expect((await refreshes()).map((j) => j.data.chapterId).sort()).toEqual(chapters.map((c) => c.id).sort());
      for (const s of saves) {
        expect(ai.summarized.filter((t) => t === s.content)).toHaveLength(s.version === 3 ? 1 : 0);
      }
      await waitFor('the full package', async () => (await h.db.sql`select 1 from packages where document_id = ${documentId} and stage = 'full'`).length === 1, 30_000);
      // The job ends a moment after its package is stored (it publishes and notifies first).
      const builds = () => artifactsQueue.getJobs(['completed']).then((jobs) => (jobs as Job[]).filter((j) => j.name === 'package.build'));
      await waitFor('the package build to complete', async () => (await builds()).length > 0);
      expect((await builds()).map((j) => j.id)).toEqual([packageJobId]);
      // The job rows agree: every one ends; none is left queued by the save that superseded it.
      const open = () => h.db.sql`select type, status, bull_id, dedup_id, changed_at from jobs where document_id = ${documentId} and status in ('queued', 'processing')`;
      // The outline's low-priority refresh may still run on a loaded machine; a row still open says which job it was.
      await waitFor('every job row of the document to be finished', async () => (await open()).length === 0, 60_000)
        .catch(async (error: unknown) => {
          throw new Error(`${error instanceof Error ? error.message : String(error)}; still open: ${JSON.stringify(await open())}`);
        });
    } finally {
      await chaptersQueue.close();
      await artifactsQueue.close();
      bull.disconnect();
    }

    // The live socket got every save, in commit order, though Redis lost its history meanwhile.
    const pushed = () => live.of(documentId).filter((e) => e.name === 'chapter.updated').map((e) => e.event as DocumentEvent<'chapter.updated'>);
    await waitFor('the saves to reach the live socket', () => pushed().length >= saves.length);
    expect(pushed().map((u) => [u.chapter_id, u.version])).toEqual(saves.map((s) => [s.chapterId, s.version]));
    live.close();

    // The saves' events are in the document's history, in commit order, then the package's.
    const client = await connectClient(h.url, await h.token('ola'));
    const head = (await client.subscribe({ document_id: documentId })) as Ok;
    const replay = (await client.subscribe({ document_id: documentId, since: 0, epoch: head.epoch })) as Ok;
    expect(replay.recovered).toBe(true);
    const events = client.of(documentId);
    const updates = events.filter((e) => e.name === 'chapter.updated').map((e) => e.event as DocumentEvent<'chapter.updated'>);
    expect(updates.map((u) => [u.chapter_id, u.version, u.by])).toEqual(saves.map((s) => [s.chapterId, s.version, 'ola']));
    const names = events.map((e) => e.name);
    expect(names.indexOf('package.essential')).toBeGreaterThan(names.lastIndexOf('chapter.updated'));
    expect(names.indexOf('package.full')).toBeGreaterThan(names.indexOf('package.essential'));
    client.close();
  });
});

describe('the outbox with two relays', () => {
  let h: TestHerald;
  let second: TestHerald;

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api', 'gateway'], env: { OUTBOX_POLL_MS: '50' } });
    // Another API process on the same database and Redis: its relay competes for the same rows.
    second = await startTestHerald({ roles: ['api'], db: h.db, prefix: h.prefix, env: { OUTBOX_POLL_MS: '50' } });
  });
  afterAll(async () => {
    await second?.close();
    await h?.close();
  });

  it("publishes each document's events once and in commit order", async () => {
    const { documentId, chapters } = await upload(h, 'ola', manuscript(3));
    const versions = new Map(chapters.map((c) => [c.id, 1]));
    const saves: [string, number][] = [];
    for (let i = 0; i < 30; i++) {
      const chapter = chapters[i % 3]!;
      const via = i % 2 === 0 ? h : second;
      const res = await autosave(via, 'ola', chapter.id, { base_version: versions.get(chapter.id)!, content: `Save ${i}.`, op_id: randomUUID() });
      expect(res.status).toBe(200);
      versions.set(chapter.id, res.body.chapter.version);
      saves.push([chapter.id, res.body.chapter.version]);
    }
    await waitFor('the outbox to drain', async () => (await countOutbox(h.db.sql)) === 0);
    const client = await connectClient(h.url, await h.token('ola'));
    const head = (await client.subscribe({ document_id: documentId })) as Ok;
    expect(((await client.subscribe({ document_id: documentId, since: 0, epoch: head.epoch })) as Ok).recovered).toBe(true);
    const updates = client.of(documentId).filter((e) => e.name === 'chapter.updated').map((e) => e.event as DocumentEvent<'chapter.updated'>);
    expect(updates.map((u) => [u.chapter_id, u.version])).toEqual(saves);
    client.close();
  });
});
