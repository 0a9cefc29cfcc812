import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { HeraldClient } from '../../realtime/client/index.ts';
import { DOCUMENT_EVENT_NAMES, type DocumentEventName, type DocumentEventPayloads } from '../../realtime/events.ts';
import { documentKeys } from '../../realtime/keys.ts';
import { createPublisher, type Publisher } from '../../realtime/publisher.ts';
import { createTestRedis } from '../support/redis.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient } from '../support/socket.ts';
import { range, recordStore, serverSockets, upload, waitForStoreDone } from '../support/sdk.ts';
import { waitFor } from '../support/wait.ts';
import { DEFAULT_CONFIG } from '../support/config-defaults.ts';

describe('HeraldClient (the SDK) against a real gateway', () => {
  let h: TestHerald;
  let redis: Redis;
  let publisher: Publisher;
  const clients: HeraldClient[] = [];
  const connect = async (user: string) => {
    const client = HeraldClient.connect({ url: h.url, token: await h.token(user) });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    // Slow the AI down a little, so an ingest is still running when the connection is cut.
    h = await startTestHerald({ env: { AI_SIMULATED_LATENCY_MS: '40', WORKER_CONCURRENCY: '2' } });
    redis = createTestRedis();
    publisher = createPublisher({ redis, prefix: h.prefix, streamMaxLen: 2000, ttlSeconds: DEFAULT_CONFIG.events.ttlSeconds });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
  });

  /** A finished one-chapter document, for tests that publish their own events. */
  async function quietDocument(user: string): Promise<string> {
    const id = await upload(h, user, manuscript(1));
    const probe = await connect(user);
    await waitForStoreDone(probe.watch(id));
    probe.close();
    // Quiet also means the document's jobs have ended and their job.update events are out (the seq stops moving).
    await waitFor('the document jobs to finish', async () => {
      const [row] = await h.db.sql<{ n: number }[]>`select count(*)::int as n from jobs where document_id = ${id} and status not in ('completed', 'failed', 'cancelled')`;
      return row!.n === 0;
    });
    let seq = '';
    await waitFor('the document seq to stop moving', async () => {
      const now = (await redis.hget(documentKeys(h.prefix, id).state, 'seq')) ?? '';
      const still = now === seq;
      seq = now;
      return still;
    }, 15_000, 150);
    return id;
  }

  it('resumes from its seq after forced disconnects and ends with the whole history, gap-free', async () => {
    const client = await connect('ines');
    const documentId = await upload(h, 'ines', manuscript(30, 80));
    const store = client.watch(documentId);
    const log = recordStore(store);
    await store.ready();
    let connects = 0;
    client.on('status', (s) => s === 'connected' && connects++);

    // Cut the transport twice and have the server disconnect the socket once, each time mid-ingest.
    for (const cut of ['transport', 'transport', 'server'] as const) {
      const seen = log.events.length;
      await waitFor('more events before the next cut', () => log.events.length > seen + 3);
      const [socket] = serverSockets(h).filter((s) => s.data.userId === 'ines');
      if (cut === 'transport') socket!.conn.close();
      else socket!.disconnect(true);
      await waitFor('the client to reconnect', () => connects > 0 && client.status === 'connected' && serverSockets(h).some((s) => s.data.userId === 'ines' && s !== socket));
      connects = 0;
    }
    await waitForStoreDone(store);

    expect(log.resets).toEqual([{ reason: 'snapshot', seq: log.resets[0]!.seq }]);
    expect(log.seqs()).toEqual(range(log.resets[0]!.seq, log.events.length));
    expect(store.state!.chapters).toHaveLength(30);
    expect(store.state!.chapters.every((c) => c.status === 'completed' && c.summary)).toBe(true);
    expect(store.state!.progress).toMatchObject({ completed: 30, total: 30, status: 'completed' });
  });

  it('heals a gap by resubscribing with since when an event never reached it', async () => {
    const documentId = await quietDocument('jon');
    const client = await connect('jon');
    const store = client.watch(documentId);
    const log = recordStore(store);
    await store.ready();
    const witness = await connectClient(h.url, await h.token('jon'));
    await witness.subscribe({ document_id: documentId });
    const sdkSocket = serverSockets(h).find((s) => s.rooms.has(`doc:${documentId}`) && s.id !== witness.socket.id); // the client's socket id is the server's

    // Take the SDK's socket out of the document's room while one event goes out: it is lost to this client only.
    sdkSocket!.leave(`doc:${documentId}`);
    const lost = await publisher.publish(documentId, 'chapter.updated', { chapter_id: crypto.randomUUID(), version: 2, by: 'someone' });
    await waitFor('the witness to get the event', () => witness.of(documentId).some((e) => e.event.seq === lost.seq));
    sdkSocket!.join(`doc:${documentId}`);
    const next = await publisher.publish(documentId, 'chapter.updated', { chapter_id: crypto.randomUUID(), version: 3, by: 'someone' });

    await waitFor('the store to reach the last event', () => store.seq === next.seq);
    expect(log.seqs()).toEqual([lost.seq, next.seq]);
    expect(log.resets.map((r) => r.reason)).toEqual(['snapshot']); // the replay filled it; no snapshot needed
    witness.close();
  });

  it('falls back to a snapshot when the missing event is not in the history either', async () => {
    const documentId = await quietDocument('kai');
    const client = await connect('kai');
    const store = client.watch(documentId);
    const log = recordStore(store);
    await store.ready();

    // A seq that was assigned but never stored or published (what a lost write would leave).
    await redis.hincrby(documentKeys(h.prefix, documentId).state, 'seq', 1);
    const after = await publisher.publish(documentId, 'document.progress', { completed: 1, failed: 0, total: 1, status: 'completed' });

    await waitFor('the store to be replaced from a snapshot', () => log.resets.length === 2);
    expect(log.resets[1]).toEqual({ reason: 'not_recovered', seq: after.seq });
    expect(store.seq).toBe(after.seq);
    expect(log.events).toEqual([]); // nothing applied across the hole
  });

  it('replaces its state from the snapshot when the server answers recovered:false', async () => {
    const documentId = await quietDocument('lia');
    const client = await connect('lia');
    const store = client.watch(documentId);
    const log = recordStore(store);
    await store.ready();
    const epoch = store.epoch;

    // Redis loses the document's history (a restart without persistence), and the stored chapter changes meanwhile.
    const keys = documentKeys(h.prefix, documentId);
    await redis.del(keys.state, keys.events);
    await h.db.sql`update chapters set title = 'Renamed while away' where document_id = ${documentId}`;
    serverSockets(h).find((s) => s.data.userId === 'lia')!.conn.close();

    await waitFor('the store to be replaced', () => log.resets.length === 2);
    expect(log.resets[1]!.reason).toBe('not_recovered');
    expect(store.epoch).not.toBe(epoch);
    expect(store.state!.chapters[0]!.title).toBe('Renamed while away');
    expect(store.state!.chapters[0]!.status).toBe('completed');
  });

  it('keeps its subscriptions across setToken, reconnecting with the new token', async () => {
    const documentId = await quietDocument('max');
    const first = await h.token('max', { expiresInSeconds: 3600 });
    const client = HeraldClient.connect({ url: h.url, token: first });
    clients.push(client);
    const store = client.watch(documentId);
    const log = recordStore(store);
    await store.ready();

    const second = await h.token('max', { expiresInSeconds: 7200 });
    expect(second).not.toBe(first);
    client.setToken(second);
    await waitFor('a socket with the new token', () => {
      const tokens = serverSockets(h).filter((s) => s.data.userId === 'max').map((s) => s.handshake.auth.token as string);
      return client.status === 'connected' && tokens.length === 1 && tokens[0] === second;
    });
    const event = await publisher.publish(documentId, 'artifact.stale', { artifact: 'outline', dirty_count: 1 });

    await waitFor('the event on the resumed subscription', () => store.seq === event.seq);
    expect(log.resets.map((r) => r.reason)).toEqual(['snapshot']);
    expect(log.seqs()).toEqual([event.seq]);
  });

  it('hands the store every document event the contract names, each by its own handler, and nothing else', async () => {
    const documentId = await quietDocument('ravi');
    const client = await connect('ravi');
    const store = client.watch(documentId);
    const log = recordStore(store);
    await store.ready();
    // One payload per event: a record over DocumentEventName, so a new event breaks this test's build until it is sent here too.
    const chapterId = crypto.randomUUID();
    const payloads: { [N in DocumentEventName]: DocumentEventPayloads[N] } = {
      'chapter.status': { chapter_id: chapterId, index: 1, status: 'completed', progress: 100 },
      'document.progress': { completed: 2, failed: 0, total: 2, status: 'completed' },
      'package.essential': { package: { stage: 'essential' } },
      'package.full': { package: { stage: 'full' } },
      'chapter.updated': { chapter_id: chapterId, version: 2, by: 'someone' },
      'artifact.stale': { artifact: 'outline', dirty_count: 1 },
      'artifact.refreshed': { artifact: 'outline' },
      'job.update': { job: { id: crypto.randomUUID(), status: 'completed' } },
    };
    // A name outside the contract, sent straight from the gateway with the next seq: the SDK has no handler for it.
    const stranger = serverSockets(h).find((s) => s.data.userId === 'ravi')!;
    (stranger.emit as (name: string, data: unknown) => boolean)('chapter.deleted', { document_id: documentId, seq: store.seq + 1, at: new Date().toISOString() });
    let last = 0;
    for (const name of DOCUMENT_EVENT_NAMES) last = (await publisher.publish(documentId, name, payloads[name] as never)).seq;

    await waitFor('every event in the store', () => store.seq === last);
    expect(log.events.map((e) => e.name)).toEqual([...DOCUMENT_EVENT_NAMES]);
    expect(log.resets.map((r) => r.reason)).toEqual(['snapshot']);
  });

  it('reports a refused subscription on the store', async () => {
    const client = await connect('nia');
    const store = client.watch(crypto.randomUUID());
    await expect(store.ready()).rejects.toMatchObject({ code: 'not_found' });
    expect(store.error?.code).toBe('not_found');
  });
});
