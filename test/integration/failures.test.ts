import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AiProvider } from '../../jobs/ai/provider.ts';
import { createBuiltinProvider } from '../../jobs/ai/builtin.ts';
import type { DocumentEvent } from '../../realtime/events.ts';
import { startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient, waitForDocumentDone } from '../support/socket.ts';

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
    // Three attempts, each retry announced as queued with the error; failed is the chapter's last status.
    const doomedEvents = statuses(doomed!);
    expect(history(doomed!)).toEqual(['processing', 'queued', 'processing', 'queued', 'processing', 'failed']);
    expect(doomedEvents.find((e) => e.status === 'queued')).toMatchObject({ error: expect.stringContaining('call 1') });
    expect(doomedEvents.at(-1)).toMatchObject({ error: expect.stringContaining('call 3') });
    // The flaky chapter announced its retry, then completed.
    expect(history(shaky!)).toEqual(['processing', 'queued', 'processing', 'completed']);
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
