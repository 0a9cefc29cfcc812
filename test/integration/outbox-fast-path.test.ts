import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher } from '../../realtime/publisher.ts';
import { documentKeys } from '../../realtime/keys.ts';
import { countOutbox } from '../../sql/queries/outbox.ts';
import type { DocumentEvent, SubscribeAck } from '../../realtime/events.ts';
import { autosave, upload } from '../support/documents.ts';
import { startHaltingApi } from '../support/halting-api-process.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { createTestRedis, removePrefix, testPrefix } from '../support/redis.ts';
import { connectClient, type RecordingClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';
import { DEFAULT_CONFIG } from '../support/config-defaults.ts';

type Ok = Extract<SubscribeAck, { ok: true }>;

/** The chapter.updated events a client saw, as [chapter_id, version]. */
const updatesOf = (client: RecordingClient, documentId: string) =>
  client.of(documentId).filter((e) => e.name === 'chapter.updated').map((e) => {
    const u = e.event as DocumentEvent<'chapter.updated'>;
    return [u.chapter_id, u.version] as [string, number];
  });

/** Every seq the client saw after the ack, which must be ack.seq + 1, + 2, … */
const expectGapFree = (client: RecordingClient, documentId: string, ack: Ok) => {
  const seqs = client.of(documentId).map((e) => e.event.seq);
  expect(seqs).toEqual(seqs.map((_, i) => ack.seq + 1 + i));
};

describe('publish-event.lua with an idempotency key', () => {
  const prefix = testPrefix();
  const redis = createTestRedis();
  afterAll(async () => {
    redis.disconnect();
    await removePrefix(prefix);
  });

  it('publishes a key once and answers its first seq to every later try', async () => {
    const publisher = createPublisher({ redis, prefix, streamMaxLen: 100, ttlSeconds: DEFAULT_CONFIG.events.ttlSeconds });
    const documentId = randomUUID();
    const event = { documentId, name: 'chapter.updated' as const, payload: { chapter_id: randomUUID(), version: 2, by: 'ola' } };
    const [first] = await publisher.publishMany([{ ...event, idempotencyKey: '41' }]);
    const [again, other] = await publisher.publishMany([{ ...event, idempotencyKey: '41' }, { ...event, idempotencyKey: '42' }]);
    expect(first).toMatchObject({ seq: 1 });
    expect(again).toEqual({ seq: 1, epoch: first!.epoch, duplicate: true });
    expect(other).toMatchObject({ seq: 2 });
    expect(await redis.xlen(documentKeys(prefix, documentId).events)).toBe(2);
  });
});

describe('the outbox fast path when its API process dies', () => {
  let h: TestHerald;

  beforeAll(async () => {
    // The survivor: its relay must send whatever the killed process left. It does not poll, so the dead
    // process's rows are still waiting when the survivor saves: that save must go out after them.
    h = await startTestHerald({ roles: ['api', 'gateway'], env: { OUTBOX_POLL_MS: '600000' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  for (const point of ['publish', 'delete'] as const) {
    it(`sends a save killed before ${point === 'publish' ? 'its publish' : 'its rows were deleted'} to every client exactly once, in order, gap-free`, async () => {
      const { documentId, chapters } = await upload(h, 'ola', manuscript(2));
      const client = await connectClient(h.url, await h.token('ola'));
      const ack = (await client.subscribe({ document_id: documentId })) as Ok;
      const doomed = await startHaltingApi(point, { databaseUrl: h.db.url, prefix: h.prefix });
      try {
        const res = await fetch(`${doomed.url}/api/chapters/${chapters[0]!.id}`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${await h.token('ola')}`, 'content-type': 'application/json' },
          body: JSON.stringify({ base_version: 1, content: 'Saved by a process about to die.', op_id: randomUUID() }),
        });
        expect(res.status).toBe(200);
        await doomed.halted();
        if (point === 'delete') await waitFor('the fast path to have published the save', () => updatesOf(client, documentId).length === 1);
        await doomed.process.kill();
        expect(doomed.process.child.signalCode).toBe('SIGKILL');

        // The survivor saves the other chapter; its relay sends both, the dead process's save first.
        const next = await autosave(h, 'ola', chapters[1]!.id, { base_version: 1, content: 'Saved by the survivor.', op_id: randomUUID() });
        expect(next.status).toBe(200);
        await waitFor('the outbox to drain', async () => (await countOutbox(h.db.sql)) === 0);
        await waitFor("the survivor's save to reach the client", () => updatesOf(client, documentId).some(([id]) => id === chapters[1]!.id));
        expect(updatesOf(client, documentId)).toEqual([[chapters[0]!.id, 2], [chapters[1]!.id, 2]]);
        expectGapFree(client, documentId, ack);
      } finally {
        await doomed.process.kill();
        client.close();
      }
    });
  }
});

describe('the outbox fast path on two API processes', () => {
  let h: TestHerald;
  let second: TestHerald;

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api', 'gateway'] });
    second = await startTestHerald({ roles: ['api'], db: h.db, prefix: h.prefix });
  });
  afterAll(async () => {
    await second?.close();
    await h?.close();
  });

  it("keeps each chapter's saves in order while both save one document at once", async () => {
    const { documentId, chapters } = await upload(h, 'ola', manuscript(4));
    const client = await connectClient(h.url, await h.token('ola'));
    const ack = (await client.subscribe({ document_id: documentId })) as Ok;
    const rounds = 12;
    // One writer per chapter, all at once, each save going to the other process than the one before.
    await Promise.all(chapters.map(async (chapter, c) => {
      for (let version = 1; version <= rounds; version++) {
        const via = (version + c) % 2 === 0 ? h : second;
        const res = await autosave(via, 'ola', chapter.id, { base_version: version, content: `Chapter ${c}, save ${version}.`, op_id: randomUUID() });
        expect(res.status).toBe(200);
      }
    }));
    await waitFor('every save to reach the client', () => updatesOf(client, documentId).length >= chapters.length * rounds);
    await waitFor('the outbox to drain', async () => (await countOutbox(h.db.sql)) === 0);
    const updates = updatesOf(client, documentId);
    for (const chapter of chapters) {
      expect(updates.filter(([id]) => id === chapter.id).map(([, v]) => v)).toEqual(Array.from({ length: rounds }, (_, i) => i + 2));
    }
    expect(updates).toHaveLength(chapters.length * rounds);
    expectGapFree(client, documentId, ack);
    client.close();
  });
});
