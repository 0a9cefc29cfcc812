import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import type { AiProvider } from '../../jobs/ai/provider.ts';
import { createBuiltinProvider } from '../../jobs/ai/builtin.ts';
import type { DocumentEvent } from '../../realtime/events.ts';
import { startTestHerald, type TestHerald } from '../support/herald.ts';
import { TEST_DATABASE_URL } from '../support/env.ts';
import { connectClient, waitForDocumentDone } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

/** The builtin provider, except that text containing a marker fails (always, or only the first few calls). */
function flakyProvider(): AiProvider & { open(): void } {
  const real = createBuiltinProvider();
  const calls = new Map<string, number>();
  // Work starts only once the test has subscribed, so it sees every event.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  return {
    name: 'flaky',
    open,
    async summarize(text, options) {
      await gate;
      const marker = /\b(CURSED|FLAKY)\b/.exec(text)?.[1];
      if (marker) {
        const n = (calls.get(text) ?? 0) + 1;
        calls.set(text, n);
        if (marker === 'CURSED' || n <= 1) throw new Error(`model refused (${marker.toLowerCase()}, call ${n})`);
      }
      return real.summarize(text, options);
    },
    embed: (text, options) => real.embed(text, options),
  };
}

describe('a chapter whose processing fails', () => {
  let h: TestHerald;
  let ai: ReturnType<typeof flakyProvider>;

  beforeAll(async () => {
    ai = flakyProvider();
    h = await startTestHerald({ ai, env: { CHAPTER_ATTEMPTS: '3', RETRY_BACKOFF_MS: '10' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('ends failed after its retries, with the error, and the document ends partial', async () => {
    const client = await connectClient(h.url, await h.token('kai'));
    const content = [
      '# Fine\n\nThe harbour was calm. Mara lit the lantern.',
      '# Doomed\n\nThis chapter is CURSED and the model refuses it every time.',
      '# Shaky\n\nThis one is FLAKY: the first call fails, the retry works. Tomas rowed home.',
    ].join('\n\n');
    const res = await h.api('kai', '/api/documents', { method: 'POST', json: { title: 'Mixed', content } });
    const body = (await res.json()) as { document: { id: string }; chapters: { id: string; title: string }[] };
    const documentId = body.document.id;
    const [fine, doomed, shaky] = body.chapters.map((c) => c.id);
    const ack = await client.subscribe({ document_id: documentId });
    if (!ack.ok) throw new Error('subscribe refused');
    ai.open();
    await waitForDocumentDone(client, documentId);

    const statuses = (id: string) =>
      client
        .of(documentId)
        .filter((e) => e.name === 'chapter.status' && (e.event as DocumentEvent<'chapter.status'>).chapter_id === id)
        .map((e) => e.event as DocumentEvent<'chapter.status'>);

    // The snapshot plus the events: a chapter may have started before the subscription, never failed before it.
    const history = (id: string) => {
      const start = ack.snapshot!.chapters.find((c) => c.id === id)!.status;
      const later = statuses(id).map((e) => e.status);
      return start === 'processing' ? [start, ...later] : later;
    };
    // `processing` goes out only for an attempt still running after the coalescing interval, so it may or may not show.
    const settled = (id: string) => history(id).filter((s) => s !== 'processing');
    // Three attempts, each retry announced as queued with the error; failed is the chapter's last status.
    const doomedEvents = statuses(doomed!);
    expect(settled(doomed!)).toEqual(['queued', 'queued', 'failed']);
    expect(doomedEvents.find((e) => e.status === 'queued')).toMatchObject({ error: expect.stringContaining('call 1') });
    expect(doomedEvents.at(-1)).toMatchObject({ error: expect.stringContaining('call 3') });
    // The flaky chapter announced its retry, then completed.
    expect(settled(shaky!)).toEqual(['queued', 'completed']);
    expect(history(shaky!).at(-1)).toBe('completed');
    expect(statuses(fine!).at(-1)!.status).toBe('completed');

    // job.update events (the jobs' own records) may follow; the document's state ends with document.progress.
    const last = client.of(documentId).filter((e) => e.name !== 'job.update').at(-1)!;
    expect(last.name).toBe('document.progress');
    expect(last.event).toMatchObject({ completed: 2, failed: 1, total: 3, status: 'partial' });

    const rows = await h.db.sql<{ id: string; status: string; error: string | null; attempts: number }[]>`
      select chapter_id as id, status, error, attempts from chapter_results where document_id = ${documentId}`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(doomed!)).toMatchObject({ status: 'failed', attempts: 3, error: expect.stringContaining('model refused') });
    expect(byId.get(shaky!)).toMatchObject({ status: 'completed', attempts: 2 });
    const [doc] = await h.db.sql<{ status: string }[]>`select status from documents where id = ${documentId}`;
    expect(doc!.status).toBe('partial');
    client.close();
  });
});

/** Times jobs of `type` went back to wait for a store (herald_job_store_waits_total), from the process's own metrics. */
async function storeWaits(h: TestHerald, type: string): Promise<number> {
  const metric = (await h.herald.metricsSnapshot()).find((m) => m.name === 'herald_job_store_waits_total');
  return metric?.values.filter((v) => v.labels.type === type).reduce((n, v) => n + v.value, 0) ?? 0;
}

describe('a chapter job running while PostgreSQL refuses connections', () => {
  let h: TestHerald;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));

  beforeAll(async () => {
    const real = createBuiltinProvider();
    // Every chapter job waits here, already running, until the database is down.
    const ai: AiProvider = {
      name: 'gated',
      summarize: async (text, options) => (await gate, real.summarize(text, options)),
      embed: (text, options) => real.embed(text, options),
    };
    // One attempt per chapter: an outage that spent an attempt would fail the chapter for good.
    h = await startTestHerald({ ai, env: { CHAPTER_ATTEMPTS: '1', RETRY_BACKOFF_MS: '10' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('waits for the database without spending an attempt, then completes', async () => {
    const client = await connectClient(h.url, await h.token('kai'));
    const content = ['# One\n\nMara lit the lantern.', '# Two\n\nTomas rowed home.', '# Three\n\nThe gulls slept.'].join('\n\n');
    const res = await h.api('kai', '/api/documents', { method: 'POST', json: { title: 'Outage', content } });
    const { document } = (await res.json()) as { document: { id: string } };
    const ack = await client.subscribe({ document_id: document.id });
    if (!ack.ok) throw new Error('subscribe refused');
    // Started before the subscription (in the snapshot) or after it (an event).
    const running = () => {
      const events = client.of(document.id).filter((e) => e.name === 'chapter.status').map((e) => e.event as DocumentEvent<'chapter.status'>);
      const ids = [...ack.snapshot!.chapters.filter((c) => c.status === 'processing').map((c) => c.id), ...events.filter((e) => e.status === 'processing').map((e) => e.chapter_id)];
      return new Set(ids);
    };
    await waitFor('all three chapter jobs to be running', () => running().size === 3);

    const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`alter database "${h.db.name}" allow_connections false`);
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${h.db.name}`;
      open(); // the jobs go on and find the database gone when they store their results
      await waitFor('each of the three chapter jobs to go back and wait for PostgreSQL', async () => (await storeWaits(h, 'chapter.process')) >= 3);
    } finally {
      await admin.unsafe(`alter database "${h.db.name}" allow_connections true`);
      await admin.end();
    }
    await waitForDocumentDone(client, document.id);

    const rows = await h.db.sql<{ status: string; attempts: number }[]>`
      select status, attempts from chapter_results where document_id = ${document.id}`;
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatchObject({ status: 'completed', attempts: 1 });
    const [doc] = await h.db.sql<{ status: string }[]>`select status from documents where id = ${document.id}`;
    expect(doc!.status).toBe('completed');
    client.close();
  });
});
