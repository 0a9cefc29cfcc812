import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { SubscribeAck } from '../../realtime/events.ts';
import { createTestRedis } from '../support/redis.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient, seqs, waitForDocumentDone } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

type Ok = Extract<SubscribeAck, { ok: true }>;

describe('several gateways on one Redis', () => {
  let main: TestHerald;
  let second: TestHerald;
  let redis: Redis;

  beforeAll(async () => {
    // Slow chapters down a little so the ingest is still running when the pub/sub connection is cut.
    const env = { AI_SIMULATED_LATENCY_MS: '4', WORKER_CONCURRENCY: '4' };
    main = await startTestHerald({ env });
    second = await startTestHerald({ roles: ['gateway'], db: main.db, prefix: main.prefix, env });
    redis = createTestRedis();
  });
  afterAll(async () => {
    redis?.disconnect();
    await second?.close();
    await main?.close();
  });

  it('delivers the same events in the same order to clients of either gateway', async () => {
    const token = await main.token('lee');
    const a = await connectClient(main.url, token);
    const b = await connectClient(second.url, token);
    const res = await main.api('lee', '/api/documents', { method: 'POST', json: { title: 'Two', content: manuscript(20) } });
    const documentId = ((await res.json()) as { document: { id: string } }).document.id;
    const [ackA, ackB] = (await Promise.all([a.subscribe({ document_id: documentId }), b.subscribe({ document_id: documentId })])) as Ok[];
    await Promise.all([waitForDocumentDone(a, documentId), waitForDocumentDone(b, documentId)]);

    // Each client's stream is gap-free from its own snapshot on, and where both saw an event it is the same event.
    for (const [client, ack] of [[a, ackA], [b, ackB]] as const) {
      const got = client.of(documentId);
      expect(seqs(got)).toEqual(got.map((_, i) => ack!.seq + 1 + i));
    }
    const from = Math.max(ackA!.seq, ackB!.seq);
    const tail = (c: typeof a) => c.of(documentId).filter((e) => e.event.seq > from).map((e) => JSON.stringify(e));
    expect(tail(a)).toEqual(tail(b));
    expect(tail(a).length).toBeGreaterThan(20);
    a.close();
    b.close();
  });

  it('catches a client up when the gateway’s pub/sub connection is killed mid-ingest', async () => {
    const token = await main.token('lee');
    const client = await connectClient(second.url, token);
    const res = await main.api('lee', '/api/documents', { method: 'POST', json: { title: 'Cut', content: manuscript(60) } });
    const documentId = ((await res.json()) as { document: { id: string } }).document.id;
    const ack = (await client.subscribe({ document_id: documentId })) as Ok;

    // Kill the second gateway's subscriber connection three times while chapters complete.
    for (let kill = 0; kill < 3; kill++) {
      const seen = client.of(documentId).length;
      await waitFor('more events before the next kill', () => client.of(documentId).length > seen + 5);
      // The events above may come from the catch-up after the last kill, before the subscriber is back: kill it once it is.
      await waitFor('the subscriber connection to kill', async () => (await killPubSub(redis, `${second.prefix}:pubsub`)) > 0);
    }
    await waitForDocumentDone(client, documentId);
    const got = client.of(documentId);
    expect(seqs(got)).toEqual(got.map((_, i) => ack.seq + 1 + i));
    expect(got.filter((e) => e.name !== 'job.update').at(-1)!.event).toMatchObject({ status: 'completed', completed: 60, total: 60 });
    client.close();
  });
});

/** CLIENT KILL for the named connections only, so other test files' gateways are untouched. */
async function killPubSub(redis: Redis, name: string): Promise<number> {
  const list = (await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
  const ids = list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /id=(\d+)/.exec(line)![1]!);
  for (const id of ids) await redis.call('CLIENT', 'KILL', 'ID', id);
  return ids.length;
}
