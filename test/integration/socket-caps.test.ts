import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { SubscribeAck, UnsubscribeAck } from '../../realtime/events.ts';
import { documentKeys, userKeys } from '../../realtime/keys.ts';
import { createPublisher, type Publisher } from '../../realtime/publisher.ts';
import type { Sql } from '../../sql/client.ts';
import { insertDocument } from '../../sql/queries/documents.ts';
import { upsertUser } from '../../sql/queries/users.ts';
import { startHeraldProcess } from '../support/cluster.ts';
import { createTestRedis } from '../support/redis.ts';
import { startTestHerald, type TestHerald } from '../support/herald.ts';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.ts';
import { connectClient, connectError, type RecordingClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';
import { DEFAULT_CONFIG } from '../support/config-defaults.ts';

type Ok = Extract<SubscribeAck, { ok: true }>;

/** `count` one-chapter documents owned by `ownerId`, written straight to the database (no jobs). */
async function seedDocuments(sql: Sql, ownerId: string, count: number): Promise<string[]> {
  await upsertUser(sql, ownerId, null);
  const ids = Array.from({ length: count }, () => randomUUID());
  for (const id of ids) {
    await insertDocument(sql, {
      id,
      ownerId,
      title: 'Seeded',
      kind: 'book',
      wordCount: 1,
      jobId: randomUUID(),
      chapters: [{ id: randomUUID(), index: 0, title: 'One', content: 'A line.', wordCount: 2 }],
    });
  }
  return ids;
}

describe('socket caps under concurrency and across gateways', () => {
  // Short claims, so a dead gateway's sockets lapse within the test; a burst large enough for 170 subscribes at once.
  const env = { SOCKET_MAX_PER_USER: '3', SOCKET_CLAIM_TTL_MS: '3000', SOCKET_RATE_LIMIT: '10', SOCKET_RATE_BURST: '200' };
  let main: TestHerald;
  let second: TestHerald;
  let redis: Redis;
  let publisher: Publisher;
  const open: RecordingClient[] = [];
  const connect = async (url: string, token: string) => {
    const client = await connectClient(url, token);
    open.push(client);
    return client;
  };

  beforeAll(async () => {
    main = await startTestHerald({ roles: ['api', 'gateway'], env });
    second = await startTestHerald({ roles: ['gateway'], db: main.db, prefix: main.prefix, env });
    redis = createTestRedis();
    publisher = createPublisher({ redis, prefix: main.prefix, streamMaxLen: 2000, ttlSeconds: DEFAULT_CONFIG.events.ttlSeconds });
  });
  afterAll(async () => {
    for (const client of open) client.close();
    redis?.disconnect();
    await second?.close();
    await main?.close();
  });

  it('holds SOCKET_MAX_SUBSCRIPTIONS (100) against 150 concurrent subscribes on one socket, and lets every feed go on disconnect', async () => {
    const docs = await seedDocuments(main.db.sql, 'cap', 150);
    const client = await connect(main.url, await main.token('cap'));
    // Every document once, then the first one again 20 times, all in flight together.
    const requests = [...docs, ...Array.from({ length: 20 }, () => docs[0]!)];
    const acks = await Promise.all(requests.map((id) => client.subscribe({ document_id: id })));

    const held = new Set(requests.filter((_, i) => acks[i]!.ok));
    expect(held.size).toBe(100);
    expect(acks.filter((a) => !a.ok)).toEqual(Array(50).fill({ ok: false, error: expect.objectContaining({ code: 'too_many_subscriptions' }) }));
    expect(main.herald.gateway!.subscriptions).toBe(100);
    client.close();
    await waitFor('the gateway to release every feed of the closed socket', () => main.herald.gateway!.subscriptions === 0);
  });

  it('caps one user’s sockets across gateways at SOCKET_MAX_PER_USER, and a closed socket frees its place', async () => {
    const token = await main.token('many');
    const held = [await connect(main.url, token), await connect(second.url, token), await connect(main.url, token)];
    for (const url of [main.url, second.url]) {
      const refused = await connectError(url, { token });
      expect(refused.data).toEqual({ code: 'too_many_sockets' });
      expect(refused.message).toMatch(/^At most 3 open connections per user.*Close one and connect again/);
    }
    // Another user is not affected.
    (await connect(second.url, await main.token('someone-else'))).close();

    held[0]!.close();
    const next = await waitFor('the closed socket’s place to be free', () => connectClient(second.url, token).catch(() => undefined));
    open.push(next);
    expect((await connectError(main.url, { token })).data).toEqual({ code: 'too_many_sockets' });
  });

  it('frees the places held on a gateway that died without cleaning up, once its claims lapse', async () => {
    const doomed = await startHeraldProcess('gateway', { databaseUrl: main.db.url, prefix: main.prefix, env });
    try {
      const token = await main.token('dana');
      for (let i = 0; i < 3; i++) await connect(doomed.url, token);
      expect((await connectError(main.url, { token })).data).toEqual({ code: 'too_many_sockets' });

      await doomed.process.kill(); // SIGKILL: no disconnect handlers, no clean-up
      const back = await waitFor(
        'the dead gateway’s claims to lapse (SOCKET_CLAIM_TTL_MS=3000)',
        () => connectClient(main.url, token).catch(() => undefined),
        20_000,
        250,
      );
      open.push(back);
    } finally {
      await doomed.process.kill();
    }
  }, 90_000);

  it('refuses a user cut off for flooding on one gateway at the other gateway too', async () => {
    const [documentId] = await seedDocuments(main.db.sql, 'flo', 1);
    const flooder = await connect(main.url, await main.token('flo'));
    const cutOff = new Promise<string>((resolve) => flooder.socket.once('disconnect', resolve));
    for (let i = 0; i < 5000 && flooder.socket.connected; i++) {
      flooder.socket.emit('unsubscribe', { document_id: documentId! }, (_: UnsubscribeAck) => {});
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(await cutOff).toBe('io server disconnect');

    const refused = await connectError(second.url, { token: await main.token('flo') });
    expect(refused.data).toEqual({ code: 'rate_limited' });
    expect(refused.message).toMatch(/^Cut off for flooding; connect again in \d+ s\.$/);
  });

  it('treats an upper-case document id as the same document: same snapshot, same live events, no second state', async () => {
    const [documentId] = (await seedDocuments(main.db.sql, 'una', 1)) as [string];
    const upper = documentId.toUpperCase();
    const token = await main.token('una');
    const a = await connect(main.url, token);
    const b = await connect(second.url, token);
    const ackUpper = (await a.subscribe({ document_id: upper })) as Ok;
    const ackLower = (await b.subscribe({ document_id: documentId })) as Ok;
    expect(ackUpper).toMatchObject({ ok: true, epoch: ackLower.epoch, seq: ackLower.seq, snapshot: { document: { id: documentId } } });

    const event = await publisher.publish(documentId, 'artifact.stale', { artifact: 'outline', dirty_count: 1 });
    await waitFor('the upper-case subscriber to get the live event', () => a.of(documentId).some((e) => e.event.seq === event.seq));
    await waitFor('the lower-case subscriber to get it too', () => b.of(documentId).some((e) => e.event.seq === event.seq));
    expect(await redis.exists(documentKeys(main.prefix, upper).state, documentKeys(main.prefix, upper).events)).toBe(0);

    expect(await a.socket.timeout(10_000).emitWithAck('unsubscribe', { document_id: upper })).toEqual({ ok: true });
    expect(main.herald.gateway!.subscriptions).toBe(0);
  });
});

describe('the per-user socket cap while Redis is away', () => {
  let redis: PrivateRedis;
  let h: TestHerald;
  const open: RecordingClient[] = [];

  beforeAll(async () => {
    redis = await startPrivateRedis();
    h = await startTestHerald({ roles: ['api', 'gateway'], env: { REDIS_URL: redis.url, SOCKET_MAX_PER_USER: '2', SOCKET_CLAIM_TTL_MS: '3000' } });
  });
  afterAll(async () => {
    for (const client of open) client.close();
    if (redis && !redis.running) await redis.restart();
    await h?.close();
    await redis?.stop();
  });

  it('lets sockets in while Redis is down (fails open), and counts them again once it is back', async () => {
    const token = await h.token('rita');
    for (let i = 0; i < 2; i++) open.push(await connectClient(h.url, token));
    expect((await connectError(h.url, { token })).data).toEqual({ code: 'too_many_sockets' });

    await redis.stop();
    open.push(await connectClient(h.url, token));

    await redis.restart(); // empty: every claim is gone
    const probe = new Redis(redis.url);
    try {
      await waitFor('the heartbeat to record the three open sockets again', async () => (await probe.zcard(userKeys(h.prefix, 'rita').sockets)) === 3);
    } finally {
      probe.disconnect();
    }
    expect((await connectError(h.url, { token })).data).toEqual({ code: 'too_many_sockets' });
  });
});
