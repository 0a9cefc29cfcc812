import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createPublisher, type EventToPublish } from '../../realtime/publisher.ts';
import { documentKeys } from '../../realtime/keys.ts';
import { readLiveState } from '../../realtime/snapshot.ts';
import { startPrivateRedis } from '../support/private-redis.ts';
import { createTestRedis, removePrefix, testPrefix } from '../support/redis.ts';
import { DEFAULT_CONFIG } from '../support/config-defaults.ts';

const status = (documentId: string, chapterId: string, version: number, idempotencyKey?: string): EventToPublish<'chapter.status'> => ({
  documentId,
  name: 'chapter.status',
  payload: { chapter_id: chapterId, index: 0, status: 'completed', progress: 100, version },
  ...(idempotencyKey && { idempotencyKey }),
});

describe('publishMany', () => {
  const prefix = testPrefix();
  const redis = createTestRedis();
  const publisher = createPublisher({ redis, prefix, streamMaxLen: 1000, ttlSeconds: DEFAULT_CONFIG.events.ttlSeconds });
  afterAll(async () => {
    redis.disconnect();
    await removePrefix(prefix);
  });

  it('publishes each document’s events with one script call, in order, each with its own outcome', async () => {
    // Script calls are counted on a Redis of this test's own (INFO commandstats): other files share the common one.
    const own = await startPrivateRedis();
    const counted = new Redis(own.url);
    const ownPublisher = createPublisher({ redis: counted, prefix, streamMaxLen: 1000, ttlSeconds: DEFAULT_CONFIG.events.ttlSeconds });
    const scriptCalls = async () => {
      const stats = await counted.info('commandstats');
      const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      return calls('evalsha') + calls('eval');
    };
    try {
      await ownPublisher.publishMany([status(randomUUID(), randomUUID(), 1)]); // loads the script
      const [a, b] = [randomUUID(), randomUUID()];
      const chapter = randomUUID();
      const events = [
        status(a, chapter, 2, 'k1'),
        status(b, randomUUID(), 1),
        status(a, chapter, 1), // an older version's run reporting late: stale, dropped
        status(a, randomUUID(), 1, 'k1'), // the same key again: a duplicate of the first
        { documentId: a, name: 'document.progress', payload: { total: 2, completed: 1, failed: 0, status: 'processing' } } as EventToPublish,
        status(b, randomUUID(), 1),
      ];
      const before = await scriptCalls();
      const outcomes = await ownPublisher.publishMany(events);
      expect((await scriptCalls()) - before).toBe(2);

      expect(outcomes.map((o) => [o.seq, o.duplicate ?? false])).toEqual([[1, false], [1, false], [0, false], [1, true], [2, false], [2, false]]);
      expect(outcomes[0]!.epoch).toBe(outcomes[2]!.epoch);
      expect(outcomes[1]!.epoch).not.toBe(outcomes[0]!.epoch);
      const stream = await counted.xrange(documentKeys(prefix, a).events, '-', '+');
      expect(stream.map(([id, fields]) => [id, fields[1]])).toEqual([['1-0', 'chapter.status'], ['2-0', 'document.progress']]);
    } finally {
      counted.disconnect();
      await own.stop();
    }
  });

  it('keeps a document’s order across calls when its batch is longer than one call takes', async () => {
    const documentId = randomUUID();
    const events = Array.from({ length: 150 }, (_, i) => status(documentId, randomUUID(), 1, `key-${i}`));
    const outcomes = await publisher.publishMany(events);
    expect(outcomes.map((o) => o.seq)).toEqual(events.map((_, i) => i + 1));
    const again = await publisher.publishMany(events.slice(-3));
    expect(again.map((o) => [o.seq, o.duplicate])).toEqual([[148, true], [149, true], [150, true]]);
  });

  describe('a history begun on another server (a replica promoted in a failover may lack its last events)', () => {
    // What a failover leaves: the state as the old master replicated it, naming that master, not this server.
    const moveToAnotherServer = (documentId: string) => redis.hset(documentKeys(prefix, documentId).state, 'origin', 'a-server-since-failed-over');

    it('is ended by the next publish: a new epoch, seqs from 1, the old stream and idempotency keys gone', async () => {
      const documentId = randomUUID();
      const before = await publisher.publishMany([status(documentId, randomUUID(), 1, 'row-1'), status(documentId, randomUUID(), 1, 'row-2')]);
      expect(before.map((o) => o.seq)).toEqual([1, 2]);
      // Republishing is a no-op while the history lasts.
      expect((await publisher.publishMany([status(documentId, randomUUID(), 1, 'row-2')]))[0]).toMatchObject({ seq: 2, duplicate: true });

      await moveToAnotherServer(documentId);
      const after = await publisher.publishMany([status(documentId, randomUUID(), 1, 'row-2'), status(documentId, randomUUID(), 1)]);
      expect(after.map((o) => [o.seq, o.duplicate ?? false])).toEqual([[1, false], [2, false]]);
      expect(after[0]!.epoch).not.toBe(before[0]!.epoch);
      const stream = await redis.xrange(documentKeys(prefix, documentId).events, '-', '+');
      expect(stream.map(([id]) => id)).toEqual(['1-0', '2-0']);
      // The new history is this server's: the next publish goes on in it.
      expect((await publisher.publishMany([status(documentId, randomUUID(), 1)]))[0]).toMatchObject({ seq: 3, epoch: after[0]!.epoch });
    });

    it('is ended by a snapshot read too, which hands clients the new epoch', async () => {
      const documentId = randomUUID();
      const [first] = await publisher.publishMany([status(documentId, randomUUID(), 1)]);
      await moveToAnotherServer(documentId);
      const live = await readLiveState(redis, prefix, documentId, DEFAULT_CONFIG.events.ttlSeconds);
      expect(live.epoch).not.toBe(first!.epoch);
      expect(live.seq).toBe(0);
      expect(live.chapters.size).toBe(0);
      expect((await publisher.publishMany([status(documentId, randomUUID(), 1)]))[0]).toMatchObject({ seq: 1, epoch: live.epoch });
    });

    it('adopts a history that names no server (kept before origins were), without ending it', async () => {
      const documentId = randomUUID();
      const [first] = await publisher.publishMany([status(documentId, randomUUID(), 1)]);
      await redis.hdel(documentKeys(prefix, documentId).state, 'origin');
      expect((await publisher.publishMany([status(documentId, randomUUID(), 1)]))[0]).toMatchObject({ seq: 2, epoch: first!.epoch });
      expect(await redis.hget(documentKeys(prefix, documentId).state, 'origin')).toMatch(/^[0-9a-f]{40}$/);
    });
  });
});
