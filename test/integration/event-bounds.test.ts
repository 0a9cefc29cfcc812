import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { HeraldClient } from '../../realtime/client/index.ts';
import { MAX_EVENT_BYTES } from '../../realtime/event-size.ts';
import type { DocumentEvent } from '../../realtime/events.ts';
import { documentKeys } from '../../realtime/keys.ts';
import { createPublisher } from '../../realtime/publisher.ts';
import { upload } from '../support/documents.ts';
import { createTestRedis } from '../support/redis.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient, seqs, type RecordingClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';
import { DEFAULT_CONFIG } from '../support/config-defaults.ts';

type Package = Record<string, any> & { stage: string };

/** A manuscript whose package lists 600 chapters with long titles: its JSON is well over 64 KiB. */
function bigManuscript(chapters = 600): string {
  return Array.from(
    { length: chapters },
    (_, i) => `# Chapter ${i + 1}: The night the lantern went out over the harbour and nobody came\n\nMara waited by the water.\n`,
  ).join('\n');
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** No worker runs here: the package requests build and publish the essential package only. */
describe('bounded events', () => {
  let h: TestHerald;
  let redis: Redis;
  const sockets: RecordingClient[] = [];
  const clients: HeraldClient[] = [];

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api', 'gateway'], env: { PACKAGE_LIMIT: '3', PACKAGE_WINDOW_SECONDS: '600' } });
    redis = createTestRedis();
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
  });

  const socketFor = async (user: string) => {
    const client = await connectClient(h.url, await h.token(user));
    sockets.push(client);
    return client;
  };
  const requestPackage = async (user: string, documentId: string) => {
    const res = await h.api(user, `/api/documents/${documentId}/package`, { method: 'POST' });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { package: Package; error?: { code: string } } };
  };

  it('sends a big package abridged on the socket and keeps it whole for GET; no event or live state in Redis holds it', async () => {
    const { documentId } = await upload(h, 'ann', bigManuscript(), { title: 'Harbour' });
    const socket = await socketFor('ann');
    expect((await socket.subscribe({ document_id: documentId })).ok).toBe(true);

    const { status, body } = await requestPackage('ann', documentId);
    expect(status).toBe(202);
    expect(body.package.chapters).toHaveLength(600);
    expect(bytes(body.package)).toBeGreaterThan(MAX_EVENT_BYTES);

    const received = await waitFor('package.essential', () => socket.of(documentId).find((e) => e.name === 'package.essential'));
    const event = received.event as DocumentEvent<'package.essential'>;
    expect(bytes(event)).toBeLessThan(2048);
    expect(event.package).toEqual({
      stage: 'essential',
      abridged: true,
      document_id: documentId,
      title: 'Harbour',
      kind: 'book',
      word_count: body.package.word_count,
      reading_minutes: body.package.reading_minutes,
      chapter_count: 600,
      description: body.package.description,
      built_at: body.package.built_at,
    });

    const whole = (await (await h.api('ann', `/api/documents/${documentId}/package`)).json()) as { package: Package };
    expect(whole.package).toEqual(body.package);

    // What Redis keeps for the document: the history and the live state, both small.
    const keys = documentKeys(h.prefix, documentId);
    const history = await redis.xrange(keys.events, '-', '+');
    expect(history.length).toBeGreaterThan(0);
    for (const [, fields] of history) expect(Buffer.byteLength(fields[fields.indexOf('d') + 1]!)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(bytes(await redis.hgetall(keys.state))).toBeLessThan(4096);

    // A client resuming from before the event gets the same abridged one replayed.
    const late = await socketFor('ann');
    expect(await late.subscribe({ document_id: documentId, since: received.event.seq - 1, epoch: (await redis.hget(keys.state, 'epoch'))! })).toMatchObject({ ok: true, recovered: true });
    const replayed = await waitFor('the replayed package event', () => late.of(documentId).find((e) => e.name === 'package.essential'));
    expect(replayed.event).toEqual(received.event);
  });

  it('cuts any other event to 64 KiB, names the cut fields, and keeps seq gap-free', async () => {
    const { documentId, chapters } = await upload(h, 'bea', manuscript(1));
    const socket = await socketFor('bea');
    expect((await socket.subscribe({ document_id: documentId })).ok).toBe(true);
    const publisher = createPublisher({ redis, prefix: h.prefix, streamMaxLen: 100, ttlSeconds: DEFAULT_CONFIG.events.ttlSeconds });
    const chapterId = chapters[0]!.id;
    await publisher.publishMany([
      { documentId, name: 'chapter.status', payload: { chapter_id: chapterId, index: 0, status: 'failed', progress: 100, error: 'E'.repeat(200_000) } },
      { documentId, name: 'job.update', payload: { job: { id: 'j1', type: 'package.build', status: 'completed', result: { blob: 'r'.repeat(100_000) } } } },
      { documentId, name: 'chapter.updated', payload: { chapter_id: chapterId, version: 2, by: 'bea' } },
    ]);
    // The upload's own events (its ingest's job.update, the chapter's statuses) arrive on the same socket: pick the three published here.
    const ours = (e: { name: string; event: Record<string, any> }) =>
      (e.name === 'chapter.status' && e.event.status === 'failed') || (e.name === 'job.update' && e.event.job?.id === 'j1') || (e.name === 'chapter.updated' && e.event.version === 2);
    const events = await waitFor('three events', () => {
      const found = socket.of(documentId).filter(ours);
      return found.length >= 3 ? found : undefined;
    });
    const [status, job, updated] = events.map((e) => e.event) as [DocumentEvent<'chapter.status'>, DocumentEvent<'job.update'>, DocumentEvent<'chapter.updated'>];
    for (const e of events) expect(bytes(e.event)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(status).toMatchObject({ chapter_id: chapterId, status: 'failed', truncated: ['error'] });
    expect(status.error).toMatch(/^E+…$/);
    expect(job).toMatchObject({ job: { id: 'j1', status: 'completed', result: null }, truncated: ['job.result'] });
    expect(updated).toMatchObject({ chapter_id: chapterId, version: 2 });
    expect(updated.truncated).toBeUndefined();
    const numbers = seqs(events);
    expect(numbers).toEqual([numbers[0], numbers[0]! + 1, numbers[0]! + 2]);
  });

  it('gives the SDK the whole package after an abridged event', async () => {
    const { documentId } = await upload(h, 'cai', bigManuscript());
    const client = HeraldClient.connect({ url: h.url, token: await h.token('cai') });
    clients.push(client);
    const store = client.watch(documentId);
    await store.ready();
    const abridged: unknown[] = [];
    store.on('package.essential', (e) => abridged.push(e.package));

    const { body } = await requestPackage('cai', documentId);
    const state = await waitFor('the whole package in the store', () => (store.state?.package.content?.chapters ? store.state : undefined));
    expect(abridged).toEqual([expect.objectContaining({ abridged: true, chapter_count: 600 })]);
    expect(state.package).toEqual({ stage: 'essential', content: body.package });
  });

  it('limits package requests per user: 429 rate_limited with Retry-After, and a refused request writes and enqueues nothing', async () => {
    const docs = [];
    for (let i = 0; i < 4; i++) docs.push((await upload(h, 'dan', manuscript(2))).documentId);
    for (let i = 0; i < 3; i++) expect((await requestPackage('dan', docs[i]!)).status).toBe(202);
    const refused = await requestPackage('dan', docs[3]!);
    expect(refused.status).toBe(429);
    expect(refused.body.error!.code).toBe('rate_limited');
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(600);

    // Everything the accepted requests wrote has been relayed; the refused one left no trace anywhere.
    await waitFor('the outbox to drain', async () => (await h.db.sql<{ n: number }[]>`select count(*)::int as n from outbox`)[0]!.n === 0);
    expect((await h.api('dan', `/api/documents/${docs[3]}/package`)).status).toBe(404);
    const [digests] = await h.db.sql<{ n: number }[]>`select count(*)::int as n from chapter_digests d join chapters c on c.id = d.chapter_id where c.document_id = ${docs[3]!}`;
    expect(digests!.n).toBe(0);
    const history = await redis.xrange(documentKeys(h.prefix, docs[3]!).events, '-', '+');
    expect(history.map(([, fields]) => fields[fields.indexOf('n') + 1])).not.toContain('package.essential');
    const queue = new Queue('artifacts', { connection: redis, prefix: h.prefix });
    const builds = (await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active'])).filter((j) => j.name === 'package.build');
    await queue.close();
    const built = new Set(builds.map((j) => j.data.documentId));
    expect(docs.map((id) => built.has(id))).toEqual([true, true, true, false]);

    // Another user has a limit of their own.
    const { documentId } = await upload(h, 'eli', manuscript(1));
    expect((await requestPackage('eli', documentId)).status).toBe(202);

    // Past the limit, a document the caller cannot see is still a 404: the refusal tells a stranger nothing about it.
    for (let i = 0; i < 2; i++) expect((await requestPackage('eli', documentId)).status).toBe(202);
    expect((await requestPackage('eli', documentId)).status).toBe(429);
    const stranger = await requestPackage('eli', docs[0]!);
    expect(stranger.status).toBe(404);
    expect(stranger.body.error!.code).toBe('not_found');
  });
});
