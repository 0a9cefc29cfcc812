import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeraldClient } from '../../realtime/client/index.ts';
import type { SubscribeAck } from '../../realtime/events.ts';
import { startHeraldProcess, type HeraldProcess } from '../support/cluster.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { range, recordStore, upload, waitForStoreDone } from '../support/sdk.ts';
import { connectClient, seqs, waitForDocumentDone } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

type Ok = Extract<SubscribeAck, { ok: true }>;

describe('two gateway and two worker processes on one Redis and PostgreSQL', () => {
  let api: TestHerald;
  let gateways: HeraldProcess[] = [];
  let workers: HeraldProcess[] = [];

  beforeAll(async () => {
    // The API runs in the test process; every gateway and worker is a real `tsx server/main.ts --role=…` child.
    api = await startTestHerald({ roles: ['api'] });
    const deployment = { databaseUrl: api.db.url, prefix: api.prefix, env: { AI_SIMULATED_LATENCY_MS: '30', WORKER_CONCURRENCY: '4' } };
    const started = await Promise.all([
      startHeraldProcess('gateway', deployment),
      startHeraldProcess('gateway', deployment),
      startHeraldProcess('worker', deployment),
      startHeraldProcess('worker', deployment),
    ]);
    gateways = started.slice(0, 2);
    workers = started.slice(2);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([...gateways, ...workers].map((p) => p.process.kill()));
    await api?.close();
  });

  it('gives a client of either gateway every event of its document, in order', async () => {
    const token = await api.token('rae');
    const [a, b] = await Promise.all(gateways.map((g) => connectClient(g.url, token)));
    const documentId = await upload(api, 'rae', manuscript(40));
    const [ackA, ackB] = (await Promise.all([a!.subscribe({ document_id: documentId }), b!.subscribe({ document_id: documentId })])) as Ok[];
    await Promise.all([waitForDocumentDone(a!, documentId), waitForDocumentDone(b!, documentId)]);

    for (const [client, ack] of [[a!, ackA!], [b!, ackB!]] as const) {
      const got = client.of(documentId);
      expect(seqs(got)).toEqual(got.map((_, i) => ack.seq + 1 + i));
      expect(got.filter((e) => e.name !== 'job.update').at(-1)!.event).toMatchObject({ status: 'completed', completed: 40, total: 40 });
    }
    const from = Math.max(ackA!.seq, ackB!.seq);
    const tail = (c: typeof a) => c!.of(documentId).filter((e) => e.event.seq > from).map((e) => JSON.stringify(e));
    expect(tail(a)).toEqual(tail(b));
    a!.close();
    b!.close();
  });

  it('moves an SDK client to the other gateway when its gateway is SIGKILLed, with the whole history, gap-free', async () => {
    const [first, second] = gateways;
    const client = HeraldClient.connect({ urls: [first!.url, second!.url], token: await api.token('rae') });
    try {
      const documentId = await upload(api, 'rae', manuscript(80));
      const store = client.watch(documentId);
      const log = recordStore(store);
      await store.ready();
      expect(client.url).toBe(first!.url);
      await waitFor('some events through the first gateway', () => log.events.length >= 10);

      await first!.process.kill(); // SIGKILL: no goodbye to the socket
      const atKill = log.events.length;
      await waitForStoreDone(store, 45_000);

      expect(client.url).toBe(second!.url);
      expect(log.resets.map((r) => r.reason)).toEqual(['snapshot']);
      expect(log.seqs()).toEqual(range(log.resets[0]!.seq, log.events.length));
      expect(store.state!.chapters.every((c) => c.status === 'completed')).toBe(true);
      expect(store.state!.progress).toMatchObject({ completed: 80, total: 80, status: 'completed' });
      expect(log.events.filter((e) => e.name !== 'job.update').at(-1)!.name).toBe('document.progress');
      expect(log.events.length).toBeGreaterThan(atKill + 20); // most of the ingest came through the second gateway
    } finally {
      client.close();
    }
  });
});
