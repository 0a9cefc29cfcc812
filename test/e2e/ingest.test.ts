import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChapterStatusPayload, DocumentEvent, SubscribeAck } from '../../realtime/events.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient, seqs, waitForDocumentDone, type RecordingClient } from '../support/socket.ts';

describe('upload → queue → work → push, end to end', () => {
  let h: TestHerald;
  let client: RecordingClient;

  beforeAll(async () => {
    h = await startTestHerald();
    client = await connectClient(h.url, await h.token('writer'));
  });
  afterAll(async () => {
    client?.close();
    await h?.close();
  });

  it('processes a 50-chapter manuscript and pushes every state change, gap-free, agreeing with the database', async () => {
    // Workers are running, so subscribe as soon as the upload answers; the snapshot covers whatever happened before.
    const upload = await h.api('writer', '/api/documents', { method: 'POST', json: { title: 'Harbour Lights', content: manuscript(50, 120) } });
    expect(upload.status).toBe(202);
    const body = (await upload.json()) as { document: { id: string }; chapters: { id: string; status: string }[]; job_id: string };
    expect(body.chapters).toHaveLength(50);
    expect(body.chapters.every((c) => c.status === 'queued')).toBe(true);
    const documentId = body.document.id;

    const ack = (await client.subscribe({ document_id: documentId })) as Extract<SubscribeAck, { ok: true }>;
    expect(ack.ok).toBe(true);
    expect(ack.snapshot!.chapters).toHaveLength(50);
    await waitForDocumentDone(client, documentId);

    const events = client.of(documentId);
    // Live events continue exactly where the snapshot's seq left off, each +1.
    expect(seqs(events)).toEqual(events.map((_, i) => ack.seq + 1 + i));

    // Fold the snapshot and the events: every chapter completed with a real summary.
    const state = new Map(ack.snapshot!.chapters.map((c) => [c.id, { status: c.status as string, summary: c.summary }]));
    for (const { name, event } of events) {
      if (name !== 'chapter.status') continue;
      const e = event as DocumentEvent<'chapter.status'>;
      state.set(e.chapter_id, { status: e.status, summary: e.summary ?? state.get(e.chapter_id)?.summary ?? null });
    }
    expect([...state.values()].every((c) => c.status === 'completed' && (c.summary ?? '').length > 20)).toBe(true);

    // The closing document.progress is the last event and comes after every chapter's last status.
    // The jobs' own job.update events may trail; the document's state ends with document.progress.
    const last = events.filter((e) => e.name !== 'job.update').at(-1)!;
    expect(last.name).toBe('document.progress');
    expect(last.event).toMatchObject({ completed: 50, failed: 0, total: 50, status: 'completed' });

    // completed/failed is each chapter's last chapter.status.
    const lastStatus = new Map<string, string>();
    for (const { name, event } of events) if (name === 'chapter.status') lastStatus.set((event as ChapterStatusPayload).chapter_id, (event as ChapterStatusPayload).status);
    expect([...lastStatus.values()].every((s) => s === 'completed')).toBe(true);

    // The database agrees with what the client was told.
    const rows = await h.db.sql<{ id: string; status: string; summary: string }[]>`
      select c.id, r.status, r.summary from chapters c join chapter_results r on r.chapter_id = c.id where c.document_id = ${documentId}`;
    expect(rows).toHaveLength(50);
    for (const row of rows) {
      expect(row.status).toBe('completed');
      expect(row.summary).toBe(state.get(row.id)!.summary);
    }
    const [doc] = await h.db.sql<{ status: string }[]>`select status from documents where id = ${documentId}`;
    expect(doc!.status).toBe('completed');

    // And GET shows the same.
    const detail = (await (await h.api('writer', `/api/documents/${documentId}`)).json()) as { document: { status: string }; chapters: { status: string }[] };
    expect(detail.document.status).toBe('completed');
    expect(detail.chapters.every((c) => c.status === 'completed')).toBe(true);
  });

  it('lists only the caller’s documents', async () => {
    const mine = (await (await h.api('writer', '/api/documents')).json()) as { documents: unknown[] };
    const theirs = (await (await h.api('someone-else', '/api/documents')).json()) as { documents: unknown[] };
    expect(mine.documents.length).toBeGreaterThan(0);
    expect(theirs.documents).toEqual([]);
  });
});
