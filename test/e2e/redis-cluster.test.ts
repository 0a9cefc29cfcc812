import { Cluster, Redis } from 'ioredis';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationPayload, SubscribeAck } from '../../realtime/events.ts';
import { documentKeys } from '../../realtime/keys.ts';
import { createPublisher } from '../../realtime/publisher.ts';
import { autosave, share, upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { recordPresence, userIds, waitForPresence } from '../support/presence.ts';
import { FILE_TAG } from '../support/redis.ts';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.ts';
import { holdableProvider } from '../support/steerable-ai.ts';
import { connectClient, seqs, waitForDocumentDone, type ClientSocket, type RecordingClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

type Ok = Extract<SubscribeAck, { ok: true }>;

/**
 * Herald on a private 3-master Redis Cluster (REDIS_CLUSTER_NODES): one
 * process with every role, and a second gateway on the same database and
 * prefix. Chapters are slowed a little so an ingest is still running while
 * a test reconnects or cuts a connection.
 */
describe('Herald on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let main: TestHerald;
  let second: TestHerald;
  // Chapters are slowed a little (4 ms a call), and can be held.
  const ai = holdableProvider({ simulatedLatencyMs: 4 });
  const clients: RecordingClient[] = [];
  const connect = async (h: TestHerald, user: string) => {
    const client = await connectClient(h.url, await h.token(user));
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    cluster = await startRedisCluster();
    const env = { REDIS_CLUSTER_NODES: cluster.nodes, WORKER_CONCURRENCY: '4' };
    main = await startTestHerald({ ai, env });
    second = await startTestHerald({ roles: ['gateway'], db: main.db, prefix: main.prefix, env });
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await second?.close();
    await main?.close();
    if (!cluster) return;
    try {
      // The shared Redis's leak check cannot see the cluster: every connection this file's Heralds opened must be gone.
      const left = await waitFor('no connection of this file left on the cluster', async () => {
        const names = await cluster.clientsNamed(FILE_TAG);
        return names.length === 0 ? [] : undefined;
      }).catch(async () => cluster.clientsNamed(FILE_TAG));
      expect(left, 'connections left open on the cluster').toEqual([]);
    } finally {
      await cluster.stop();
    }
  }, 60_000);

  it('ingests a multi-chapter upload and pushes every event gap-free, by sharded pub/sub, with BullMQ under one hash tag', async () => {
    const client = await connect(main, 'ada');
    const { documentId, chapters } = await upload(main, 'ada', manuscript(30, 80));
    expect(chapters).toHaveLength(30);
    const ack = (await client.subscribe({ document_id: documentId })) as Ok;
    expect(ack.ok).toBe(true);

    // The document's channel is a shard channel on the master that owns its slot, not a classic one anywhere.
    const channel = documentKeys(main.prefix, documentId).channel;
    const owner = await cluster.masterOf(channel);
    expect(await onNode(owner, (r) => r.call('PUBSUB', 'SHARDNUMSUB', channel))).toEqual([channel, 1]);
    for (const port of cluster.ports) expect(await onNode(port, (r) => r.call('PUBSUB', 'NUMSUB', channel))).toEqual([channel, 0]);

    await waitForDocumentDone(client, documentId);
    const events = client.of(documentId);
    expect(seqs(events)).toEqual(events.map((_, i) => ack.seq + 1 + i));
    expect(events.filter((e) => e.name !== 'job.update').at(-1)!.event).toMatchObject({ status: 'completed', completed: 30, total: 30 });

    // Every BullMQ key carries the tag {prefix}, so all of them live on the master that owns it.
    const queueOwner = await cluster.masterOf(`{${main.prefix}}`);
    const tagged = await onNode(queueOwner, (r) => r.keys(`{${main.prefix}}:chapters:*`));
    expect(tagged.length).toBeGreaterThan(0);
    for (const port of cluster.ports) expect(await onNode(port, (r) => r.keys(`${main.prefix}:chapters:*`))).toEqual([]);
  }, 60_000);

  it('replays every event after `since` to a client that reconnects mid-ingest', async () => {
    const first = await connect(main, 'ben');
    // The chapters' summaries wait until the first connection is gone: the rest of the ingest happens while it is away.
    ai.hold();
    const { documentId } = await upload(main, 'ben', manuscript(12));
    const ack = (await first.subscribe({ document_id: documentId })) as Ok;
    try {
      await waitFor('a few events before the disconnect', () => first.of(documentId).length >= 2);
    } finally {
      first.close();
      ai.release();
    }
    const held = first.of(documentId);

    const again = await connect(second, 'ben');
    const resumed = (await again.subscribe({ document_id: documentId, since: held.at(-1)!.event.seq, epoch: ack.epoch })) as Ok;
    expect(resumed).toMatchObject({ ok: true, recovered: true, epoch: ack.epoch });
    await waitForDocumentDone(again, documentId);
    const all = [...held, ...again.of(documentId)];
    expect(seqs(all)).toEqual(all.map((_, i) => ack.seq + 1 + i));
  }, 60_000);

  it('delivers the same history through either gateway', async () => {
    const [a, b] = [await connect(main, 'cy'), await connect(second, 'cy')];
    const { documentId } = await upload(main, 'cy', manuscript(15));
    const [ackA, ackB] = (await Promise.all([a.subscribe({ document_id: documentId }), b.subscribe({ document_id: documentId })])) as Ok[];
    await Promise.all([waitForDocumentDone(a, documentId), waitForDocumentDone(b, documentId)]);
    for (const [client, ack] of [[a, ackA!], [b, ackB!]] as const) {
      const got = client.of(documentId);
      expect(seqs(got)).toEqual(got.map((_, i) => ack.seq + 1 + i));
    }
    const from = Math.max(ackA!.seq, ackB!.seq);
    const tail = (c: RecordingClient) => c.of(documentId).filter((e) => e.event.seq > from).map((e) => JSON.stringify(e));
    expect(tail(a)).toEqual(tail(b));
    expect(tail(a).length).toBeGreaterThan(15);
  }, 60_000);

  it('pushes an autosave (through the outbox) to a collaborator as chapter.updated', async () => {
    const watcher = await connect(second, 'dee');
    const { documentId, chapters } = await upload(main, 'dee', manuscript(2));
    await watcher.subscribe({ document_id: documentId });
    await waitForDocumentDone(watcher, documentId);
    const chapterId = chapters[0]!.id;
    const saved = await autosave(main, 'dee', chapterId, { base_version: 1, content: 'A new first line.', op_id: crypto.randomUUID() });
    expect(saved.status).toBe(200);
    const updated = await waitFor('chapter.updated', () => watcher.of(documentId).find((e) => e.name === 'chapter.updated'));
    expect(updated.event).toMatchObject({ chapter_id: chapterId, version: saved.body.chapter.version, by: 'dee' });
  }, 60_000);

  it('pushes notifications to the user’s sockets on every gateway', async () => {
    const inboxes = await Promise.all([main, second].map((h) => connectInbox(h, 'eli')));
    const { documentId } = await upload(main, 'eli', manuscript(2));
    for (const inbox of inboxes) {
      const n = await waitFor('document.ingested on each gateway', () => inbox.received.find((x) => x.kind === 'document.ingested'));
      expect(n.document_id).toBe(documentId);
    }
    for (const inbox of inboxes) inbox.socket.disconnect();
  }, 60_000);

  it('shows who has a document open to clients of either gateway (presence on the document’s shard channel)', async () => {
    const { documentId, chapters } = await upload(main, 'ivy', manuscript(2));
    await share(main, 'ivy', documentId, 'jon', 'editor');
    const ivy = recordPresence(await connect(main, 'ivy'));
    const jon = recordPresence(await connect(second, 'jon'));
    await ivy.subscribe({ document_id: documentId });
    await jon.subscribe({ document_id: documentId });
    await waitForPresence(ivy, documentId, 'ivy sees jon arrive through the other gateway', (users) => userIds(users)?.join() === 'ivy,jon');
    expect(await jon.announce({ document_id: documentId, chapter_id: chapters[1]!.id })).toEqual({ ok: true });
    await waitForPresence(ivy, documentId, 'jon edits chapter 2', (users) => users.find((u) => u.user_id === 'jon')?.chapter_id === chapters[1]!.id);
  }, 60_000);

  it('catches a client up when the gateway’s sharded subscriber is killed on the shard of its document, mid-ingest', async () => {
    const client = await connect(second, 'fay');
    const { documentId } = await upload(main, 'fay', manuscript(60));
    const ack = (await client.subscribe({ document_id: documentId })) as Ok;
    const owner = await cluster.masterOf(documentKeys(main.prefix, documentId).channel);
    for (let kill = 0; kill < 3; kill++) {
      const seen = client.of(documentId).length;
      await waitFor('more events before the next kill', () => client.of(documentId).length > seen + 5, 30_000);
      expect(await onNode(owner, (redis) => killShardSubscriber(redis, `${second.prefix}:pubsub`))).toBeGreaterThan(0);
    }
    await waitForDocumentDone(client, documentId, 45_000);
    const got = client.of(documentId);
    expect(seqs(got)).toEqual(got.map((_, i) => ack.seq + 1 + i));
    expect(got.filter((e) => e.name !== 'job.update').at(-1)!.event).toMatchObject({ status: 'completed', completed: 60, total: 60 });
  }, 60_000);

  it('delivers the last event, published while the shard subscriber could not reconnect, once it is back', async () => {
    const client = await connect(second, 'hal');
    const { documentId } = await upload(main, 'hal', manuscript(2));
    const ack = (await client.subscribe({ document_id: documentId })) as Ok;
    const keys = documentKeys(main.prefix, documentId);
    const owner = await cluster.masterOf(keys.channel);
    // The ingest is over, and the client holds every event of it (jobs' job.update events trail the document's own).
    await waitForDocumentDone(client, documentId);
    await waitFor('every job of the document to complete', async () => {
      const { jobs } = (await (await main.api('hal', `/api/documents/${documentId}/jobs`)).json()) as { jobs: { status: string }[] };
      return jobs.length > 0 && jobs.every((j) => j.status === 'completed');
    });
    // Read through the test's own cluster connection, which so opens its connection to the owner before the node is closed to new ones.
    const redis = clusterClient(cluster);
    const head = Number(await redis.hget(keys.state, 'seq'));
    await waitFor('the client to hold every event so far', () => client.of(documentId).at(-1)?.event.seq === head);

    const publisher = createPublisher({ redis, prefix: main.prefix, pubsub: 'sharded', streamMaxLen: 1000, ttlSeconds: 3600 });
    const stale = () => client.of(documentId).find((e) => e.name === 'artifact.stale');
    await onNode(owner, async (node) => {
      // The node takes no new connection: the killed subscriber cannot come back until maxclients is raised again.
      const open = ((await node.client('LIST')) as string).trim().split('\n').length;
      await node.config('SET', 'maxclients', String(open - 1));
      try {
        expect(await killShardSubscriber(node, `${second.prefix}:pubsub`)).toBeGreaterThan(0);
        expect(await publisher.publish(documentId, 'artifact.stale', { artifact: 'outline', dirty_count: 9 })).toMatchObject({ seq: head + 1 });
        expect(stale()).toBeUndefined();
      } finally {
        await node.config('SET', 'maxclients', '10000');
      }
    });
    // Nothing is published after it: only the catch-up that follows the resubscription can deliver it.
    const delivered = await waitFor('artifact.stale after the subscriber is back', stale, 30_000);
    expect(delivered.event).toMatchObject({ seq: head + 1, dirty_count: 9 });
    const got = client.of(documentId);
    expect(seqs(got)).toEqual(got.map((_, i) => ack.seq + 1 + i));
  }, 60_000);
});

describe('manual refresh on a Redis Cluster (no worker: refreshes stay pending)', () => {
  let cluster: RedisCluster;
  let h: TestHerald;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    h = await startTestHerald({ roles: ['api'], env: { REDIS_CLUSTER_NODES: cluster.nodes } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await cluster?.stop();
  });

  it('joins a pending refresh without counting it and answers the 6th 429 with Retry-After', async () => {
    const refresh = async (documentId: string) => {
      const res = await h.api('gus', `/api/documents/${documentId}/refresh`, { method: 'POST' });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { job_id?: string; deduplicated?: boolean } };
    };
    const docs: string[] = [];
    for (let i = 0; i < 6; i++) docs.push((await upload(h, 'gus', manuscript(1))).documentId);
    const first = await refresh(docs[0]!);
    expect(first).toMatchObject({ status: 202, body: { deduplicated: false } });
    expect(await refresh(docs[0]!)).toMatchObject({ status: 202, body: { job_id: first.body.job_id, deduplicated: true } });
    for (let i = 1; i < 5; i++) expect((await refresh(docs[i]!)).status).toBe(202);
    const sixth = await refresh(docs[5]!);
    expect(sixth.status).toBe(429);
    expect(Number(sixth.retryAfter)).toBeGreaterThan(0);
  }, 60_000);

  it('answers an upload 503, writing no document, when the master holding the queues is gone', async () => {
    await cluster.killNode(await cluster.masterOf(`{${h.prefix}}`));
    const res = await h.api('gus', '/api/documents', { method: 'POST', json: { title: 'During the outage', content: manuscript(2) } });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    expect(await h.db.sql`select 1 from documents where title = 'During the outage'`).toHaveLength(0);
  }, 60_000);
});

/** A Cluster connection of the test's own, closed when the file ends. */
const ownClients: Cluster[] = [];
afterAll(() => {
  for (const c of ownClients.splice(0)) c.disconnect();
});
function clusterClient(cluster: RedisCluster): Cluster {
  const client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  ownClients.push(client);
  return client;
}

/** Runs `work` on one node of the cluster, on a connection of its own. */
async function onNode<T>(port: number, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

/** CLIENT KILL the gateway's sharded subscriber on the node `redis` is connected to (ioredis names it `ioredis-cluster(ssubscriber):<name>`). */
async function killShardSubscriber(redis: Redis, name: string): Promise<number> {
  const list = (await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
  const ids = list
    .split('\n')
    .filter((line) => line.includes(` name=ioredis-cluster(ssubscriber):${name} `))
    .map((line) => /id=(\d+)/.exec(line)![1]!);
  for (const id of ids) await redis.call('CLIENT', 'KILL', 'ID', id);
  return ids.length;
}

/** A socket that records the notifications it receives. */
async function connectInbox(h: TestHerald, user: string): Promise<{ socket: ClientSocket; received: NotificationPayload[] }> {
  const socket: ClientSocket = io(h.url, { auth: { token: await h.token(user) }, transports: ['websocket'], reconnection: false, forceNew: true });
  const received: NotificationPayload[] = [];
  socket.on('notification', (n) => received.push(n));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, received };
}
