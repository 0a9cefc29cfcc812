import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { documentKeys } from '../../realtime/keys.ts';
import type { DocumentSnapshot, SubscribeAck } from '../../realtime/events.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient, seqs, waitForDocumentDone } from '../support/socket.ts';
import { holdableProvider } from '../support/steerable-ai.ts';
import { waitFor } from '../support/wait.ts';
import { createTestRedis } from '../support/redis.ts';

type Ok = Extract<SubscribeAck, { ok: true }>;

describe('subscribe with since: replay, trimmed history, lost history', () => {
  let h: TestHerald;
  let redis: Redis;
  let ai: ReturnType<typeof holdableProvider>;

  beforeAll(async () => {
    // A short stream, so a long ingest trims it.
    // Approximate trimming drops whole stream nodes (100 entries): history is kept up to ~200 events here, so an
    // 8-chapter ingest (with its jobs' job.update events) always resumes and a 150-chapter one (300+ events) is trimmed.
    ai = holdableProvider();
    h = await startTestHerald({ ai, env: { EVENT_STREAM_MAXLEN: '100' } });
    redis = createTestRedis();
  });
  afterEach(() => ai.release());
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
  });

  async function upload(chapters: number): Promise<string> {
    const res = await h.api('ana', '/api/documents', { method: 'POST', json: { title: 'Resume', content: manuscript(chapters) } });
    expect(res.status).toBe(202);
    return ((await res.json()) as { document: { id: string } }).document.id;
  }

  it('replays every event after `since` in order, then live ones, after a disconnect mid-ingest', async () => {
    const token = await h.token('ana');
    const first = await connectClient(h.url, token);
    // The chapters' summaries wait until the first connection is gone, so the ingest is still running when it
    // drops (however slowly this test's process gets to subscribe) and its completions happen while it is away.
    ai.hold();
    const documentId = await upload(8);
    const ack = (await first.subscribe({ document_id: documentId })) as Ok;
    expect(ack.ok).toBe(true);
    // The chapters still running after the coalescing interval are announced as processing.
    await waitFor('the first events', () => first.of(documentId).length >= 2);
    first.close();
    ai.release();
    const held = first.of(documentId);
    const lastSeq = held.at(-1)!.event.seq;

    const second = await connectClient(h.url, token);
    const resumed = (await second.subscribe({ document_id: documentId, since: lastSeq, epoch: ack.epoch })) as Ok;
    expect(resumed).toMatchObject({ ok: true, recovered: true, epoch: ack.epoch });
    expect(resumed.snapshot).toBeUndefined();
    await waitForDocumentDone(second, documentId);
    second.close();

    const all = [...held, ...second.of(documentId)];
    expect(seqs(all)).toEqual(all.map((_, i) => ack.seq + 1 + i));
    expect(all.filter((e) => e.name !== 'job.update').at(-1)!.event).toMatchObject({ status: 'completed', completed: 8, total: 8 });
  });

  it('answers recovered:false with a fresh snapshot when the events after `since` were trimmed', async () => {
    const token = await h.token('ana');
    const client = await connectClient(h.url, token);
    const documentId = await upload(150); // ~300+ events, past the ~200 kept
    const ack = (await client.subscribe({ document_id: documentId })) as Ok;
    await waitForDocumentDone(client, documentId);
    const held = client.of(documentId).at(-1)!.event.seq;
    const resumed = (await client.subscribe({ document_id: documentId, since: 1, epoch: ack.epoch })) as Ok;
    expect(resumed.recovered).toBe(false);
    expect(resumed.snapshot!.document.status).toBe('completed');
    expect(resumed.snapshot!.chapters.every((c) => c.status === 'completed')).toBe(true);
    // The snapshot is current: it folds every event the client held when it asked (a trailing job.update may be folded
    // before it arrives, and one published after the snapshot may arrive before the answer).
    expect(resumed.seq).toBeGreaterThanOrEqual(held);
    client.close();
  });

  it('answers recovered:false with a snapshot and a new epoch when Redis lost the history', async () => {
    const token = await h.token('ana');
    const client = await connectClient(h.url, token);
    const documentId = await upload(3);
    const ack = (await client.subscribe({ document_id: documentId })) as Ok;
    await waitForDocumentDone(client, documentId);
    const lastSeq = client.of(documentId).at(-1)!.event.seq;
    client.close();

    // What a Redis restart without persistence does to this document.
    const keys = documentKeys(h.prefix, documentId);
    await redis.del(keys.state, keys.events);

    const again = await connectClient(h.url, token);
    const resumed = (await again.subscribe({ document_id: documentId, since: lastSeq, epoch: ack.epoch })) as Ok;
    expect(resumed.recovered).toBe(false);
    expect(resumed.epoch).not.toBe(ack.epoch);
    const snapshot = resumed.snapshot as DocumentSnapshot;
    // PostgreSQL still holds the results.
    expect(snapshot.chapters.every((c) => c.status === 'completed' && c.summary)).toBe(true);
    expect(snapshot.document.status).toBe('completed');

    // A stale epoch is refused even with a seq the new history happens to have.
    const wrongEpoch = (await again.subscribe({ document_id: documentId, since: 0, epoch: ack.epoch })) as Ok;
    expect(wrongEpoch.recovered).toBe(false);
    expect(wrongEpoch.snapshot).toBeDefined();
    again.close();
  });

  it('answers malformed subscribe payloads with invalid_request', async () => {
    const client = await connectClient(h.url, await h.token('ana'));
    for (const bad of [null, 'x', {}, { document_id: 'nope' }, { document_id: crypto.randomUUID(), since: -1 }, { document_id: crypto.randomUUID(), since: 'a' }]) {
      const ack = await client.socket.timeout(5000).emitWithAck('subscribe', bad as never);
      expect(ack).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    }
    const unsub = await client.socket.timeout(5000).emitWithAck('unsubscribe', { document_id: 42 } as never);
    expect(unsub).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    client.close();
  });
});
