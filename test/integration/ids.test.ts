import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher, type Publisher } from '../../realtime/publisher.ts';
import { share, upload } from '../support/documents.ts';
import { createTestRedis } from '../support/redis.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';
import { DEFAULT_CONFIG } from '../support/config-defaults.ts';

/** Ids are UUIDs compared without regard to case: an upper-case id names the same document on every REST route. */
describe('upper-case ids on REST', () => {
  let h: TestHerald;
  let redis: Redis;
  let publisher: Publisher;

  beforeAll(async () => {
    // No worker: an upload's jobs stay queued, so a DELETE has jobs to cancel.
    h = await startTestHerald({ roles: ['api', 'gateway'] });
    redis = createTestRedis();
    publisher = createPublisher({ redis, prefix: h.prefix, streamMaxLen: 2000, ttlSeconds: DEFAULT_CONFIG.events.ttlSeconds });
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
  });

  /** Every Redis key of this deployment that names the document, in either spelling. */
  async function keysNaming(documentId: string): Promise<string[]> {
    const found: string[] = [];
    for (const spelling of [documentId.toLowerCase(), documentId.toUpperCase()]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${h.prefix}:*${spelling}*`, 'COUNT', 1000);
        cursor = next;
        found.push(...keys);
      } while (cursor !== '0');
    }
    return found;
  }

  it('reads the document, its jobs, refreshes and members with an upper-case id', async () => {
    const { documentId } = await upload(h, 'ida', manuscript(2));
    const upper = documentId.toUpperCase();
    const detail = await h.api('ida', `/api/documents/${upper}`);
    expect(detail.status).toBe(200);
    expect(((await detail.json()) as { document: { id: string } }).document.id).toBe(documentId);
    const ingest = await waitFor('the ingest job listed under the upper-case id', async () => {
      const jobs = await h.api('ida', `/api/documents/${upper}/jobs`);
      return ((await jobs.json()) as { jobs: { id: string; document_id: string }[] }).jobs[0];
    });
    expect(ingest.document_id).toBe(documentId);
    const job = await h.api('ida', `/api/jobs/${ingest.id.toUpperCase()}`);
    expect(((await job.json()) as { id: string }).id).toBe(ingest.id);
    expect((await h.api('ida', `/api/documents/${upper}/refreshes`)).status).toBe(200);
    const member = await h.api('ida', `/api/documents/${upper}/members`, { method: 'POST', json: { user_id: 'idb', role: 'viewer' } });
    expect(member.status).toBe(201);
    expect(((await member.json()) as { member: { document_id: string } }).member.document_id).toBe(documentId);
    expect((await h.api('idb', `/api/documents/${upper}`)).status).toBe(200);
  });

  it('a package requested with an upper-case id reaches the sockets watching the document, and joins its pending build', async () => {
    const { documentId } = await upload(h, 'ida', manuscript(2));
    const client = await connectClient(h.url, await h.token('ida'));
    try {
      expect(await client.subscribe({ document_id: documentId })).toMatchObject({ ok: true });
      const first = await h.api('ida', `/api/documents/${documentId.toUpperCase()}/package`, { method: 'POST' });
      expect(first.status).toBe(202);
      const { job_id: jobId } = (await first.json()) as { job_id: string };
      await waitFor('package.essential on the socket watching the document', () => client.of(documentId).some((e) => e.name === 'package.essential'));
      const again = await h.api('ida', `/api/documents/${documentId}/package`, { method: 'POST' });
      expect(await again.json()).toMatchObject({ job_id: jobId, deduplicated: true });
      // Nothing went to a second, upper-case copy of the document's state or history.
      expect((await keysNaming(documentId)).filter((k) => k.includes(documentId.toUpperCase()))).toEqual([]);
    } finally {
      client.close();
    }
  });

  it.each([
    ['lower-case', (id: string) => id],
    ['upper-case', (id: string) => id.toUpperCase()],
  ])('DELETE with a %s id removes the document’s Redis keys and cancels its jobs', async (_, spell) => {
    const { documentId } = await upload(h, 'ida', manuscript(3));
    await share(h, 'ida', documentId, 'idc', 'editor');
    // The document's live state and event history exist in Redis...
    await publisher.publish(documentId, 'artifact.stale', { artifact: 'outline', dirty_count: 1 });
    // ...and its ingest job waits in BullMQ (no worker runs here).
    await waitFor('the ingest job to be queued', async () => (await keysNaming(documentId)).some((k) => k.includes(`ingest-${documentId}`)));
    expect((await keysNaming(documentId)).length).toBeGreaterThan(0);

    const res = await h.api('ida', `/api/documents/${spell(documentId)}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect((await h.api('ida', `/api/documents/${documentId}`)).status).toBe(404);
    expect(await keysNaming(documentId)).toEqual([]);
    const [open] = await h.db.sql<{ n: number }[]>`select count(*)::int as n from jobs where document_id = ${documentId}`;
    expect(open!.n).toBe(0);
  });
});
