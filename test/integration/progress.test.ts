import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinProvider } from '../../jobs/ai/builtin.ts';
import type { AiProvider } from '../../jobs/ai/provider.ts';
import type { ChapterStatusPayload, SubscribeAck } from '../../realtime/events.ts';
import { documentKeys } from '../../realtime/keys.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { createTestRedis } from '../support/redis.ts';
import { connectClient, seqs, waitForDocumentDone } from '../support/socket.ts';
import { upload } from '../support/sdk.ts';

const STEPS = 1000;

/** A provider whose summaries report 1,000 progress steps spread over about one second, once the test opens the gate. */
function chattyProvider(gate: Promise<void>, elapsed: number[]): AiProvider {
  const builtin = createBuiltinProvider();
  return {
    name: 'chatty',
    async summarize(text, options) {
      await gate;
      const start = Date.now();
      for (let i = 1; i <= STEPS; i++) {
        options?.onProgress?.(i / STEPS);
        const due = start + i; // step i is due i ms after the start
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      elapsed.push(Date.now() - start);
      return builtin.summarize(text);
    },
    embed: (text) => builtin.embed(text),
  };
}

describe('progress coalescing in the chapter worker', () => {
  let h: TestHerald;
  let open!: () => void;
  const elapsed: number[] = [];

  beforeAll(async () => {
    h = await startTestHerald({ ai: chattyProvider(new Promise((r) => (open = r)), elapsed) });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('turns 1,000 progress steps a second into about ten events per chapter, with the terminal status last', async () => {
    const client = await connectClient(h.url, await h.token('pia'));
    const documentId = await upload(h, 'pia', manuscript(3));
    const ack = (await client.subscribe({ document_id: documentId })) as Extract<SubscribeAck, { ok: true }>;
    open();
    await waitForDocumentDone(client, documentId);
    client.close();

    const events = client.of(documentId);
    expect(seqs(events)).toEqual(events.map((_, i) => ack.seq + 1 + i));
    const chapterIds = ack.snapshot!.chapters.map((c) => c.id);
    const slowest = Math.max(...elapsed);
    for (const id of chapterIds) {
      const mine = events.filter((e) => e.name === 'chapter.status' && (e.event as ChapterStatusPayload).chapter_id === id).map((e) => e.event as ChapterStatusPayload);
      const progress = mine.filter((e) => e.status === 'processing');
      // The first once a chapter has run for 100 ms, then at most one per 100 ms while the steps last (about a second; longer on a busy machine).
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect(progress.length).toBeLessThanOrEqual(1 + Math.ceil(slowest / 100));
      expect(progress.map((e) => e.progress)).toEqual([...progress.map((e) => e.progress)].sort((a, b) => a - b));
      expect(mine.at(-1)).toMatchObject({ status: 'completed', progress: 100 });
      expect(mine.filter((e) => e.status === 'completed')).toHaveLength(1);
    }
  });
});

describe('chapters that finish within the coalescing interval', () => {
  let h: TestHerald;

  beforeAll(async () => {
    h = await startTestHerald();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('announce no processing at all: queued, then their final status', async () => {
    const client = await connectClient(h.url, await h.token('pia'));
    const documentId = await upload(h, 'pia', manuscript(6));
    const ack = await client.subscribe({ document_id: documentId });
    if (!ack.ok) throw new Error('subscribe refused');
    await waitForDocumentDone(client, documentId);
    client.close();

    // The document's whole history, including what happened before the subscription.
    const redis = createTestRedis();
    const entries = await redis.xrange(documentKeys(h.prefix, documentId).events, '-', '+').finally(() => redis.disconnect());
    const statuses = entries.filter(([, f]) => f[1] === 'chapter.status').map(([, f]) => JSON.parse(f[3]!) as ChapterStatusPayload);
    // The builtin AI takes well under a millisecond of work per chapter here.
    expect(statuses.filter((e) => e.status === 'processing')).toEqual([]);
    expect(statuses.map((e) => e.status)).toEqual(Array(6).fill('completed'));
  });
});
