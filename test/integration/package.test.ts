import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createBuiltinProvider } from '../../jobs/ai/builtin.ts';
import type { AiProvider } from '../../jobs/ai/provider.ts';
import type { DocumentEvent } from '../../realtime/events.ts';
import { autosave, share, upload } from '../support/documents.ts';
import { createTestRedis } from '../support/redis.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

interface PackageAnswer {
  package: Record<string, any> & { stage: 'essential' | 'full' };
  job_id: string;
  deduplicated: boolean;
}

const SCREENPLAY = [
  'INT. LIGHTHOUSE - NIGHT',
  '',
  'Wind batters the glass. Mara climbs the stairs with a lantern.',
  '',
  'MARA',
  'Tomas? Are you up there?',
  '',
  'TOMAS',
  'Keep climbing. The lamp is out.',
  '',
  'EXT. HARBOUR - DAWN',
  '',
  'The boats rock. Mara watches the sea.',
  '',
  'MARA',
  'It came back on by itself.',
].join('\n');

async function requestPackage(h: TestHerald, userId: string, documentId: string) {
  const res = await h.api(userId, `/api/documents/${documentId}/package`, { method: 'POST' });
  return { status: res.status, body: (await res.json()) as PackageAnswer };
}

describe('packages with no worker running', () => {
  let h: TestHerald;

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api', 'gateway'] });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers the essential package at once, stores it, and announces it', async () => {
    const { documentId, chapters } = await upload(h, 'pia', SCREENPLAY, { kind: 'screenplay', title: 'Lamp' });
    expect((await h.api('pia', `/api/documents/${documentId}/package`)).status).toBe(404);
    const client = await connectClient(h.url, await h.token('pia'));
    expect((await client.subscribe({ document_id: documentId })).ok).toBe(true);

    const { status, body } = await requestPackage(h, 'pia', documentId);
    expect(status).toBe(202);
    expect(body.job_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.package).toMatchObject({
      stage: 'essential',
      document_id: documentId,
      title: 'Lamp',
      kind: 'screenplay',
      chapter_count: 2,
      chapters: chapters.map((c) => ({ id: c.id, index: c.index, title: c.title, version: 1 })),
      description: 'Wind batters the glass. Mara climbs the stairs with a lantern.',
    });
    expect(body.package.characters[0]).toEqual({ name: 'Mara', mentions: expect.any(Number) });
    expect(body.package.word_count).toBeGreaterThan(20);
    expect(body.package.reading_minutes).toBe(1);

    const stored = await h.api('pia', `/api/documents/${documentId}/package`);
    expect(stored.status).toBe(200);
    expect(((await stored.json()) as { package: unknown }).package).toEqual(body.package);
    const event = await waitFor('package.essential', () => client.of(documentId).find((e) => e.name === 'package.essential'));
    expect((event.event as DocumentEvent<'package.essential'>).package).toEqual(body.package);
    const doc = (await (await h.api('pia', `/api/documents/${documentId}`)).json()) as { package: { stage: string } };
    expect(doc.package.stage).toBe('essential');
    client.close();
  });

  it('answers a request that finds nothing changed with the stored package, announced again; a saved chapter makes the next one build afresh', async () => {
    const { documentId, chapters } = await upload(h, 'pia', manuscript(3, 40));
    const client = await connectClient(h.url, await h.token('pia'));
    expect((await client.subscribe({ document_id: documentId })).ok).toBe(true);
    const essentials = () => client.of(documentId).filter((e) => e.name === 'package.essential').map((e) => (e.event as DocumentEvent<'package.essential'>).package);

    const first = await requestPackage(h, 'pia', documentId);
    const again = await requestPackage(h, 'pia', documentId);
    expect(again.status).toBe(202);
    // The same package, built_at included: it was not built again. No worker runs, so the full build is still pending.
    expect(again.body.package).toEqual(first.body.package);
    expect(again.body).toMatchObject({ job_id: first.body.job_id, deduplicated: true });
    await waitFor('two package.essential events', () => essentials().length === 2);
    expect(essentials()).toEqual([first.body.package, first.body.package]);

    expect((await autosave(h, 'pia', chapters[1]!.id, { base_version: 1, content: 'Mara rewrote the middle. Mara, Mara and Tomas.', op_id: randomUUID() })).status).toBe(200);
    const edited = await requestPackage(h, 'pia', documentId);
    expect(edited.body.package.built_at).not.toBe(first.body.package.built_at);
    expect(edited.body.package.chapters.map((c: { version: number }) => c.version)).toEqual([1, 2, 1]);
    expect(edited.body.package.word_count).not.toBe(first.body.package.word_count);
    const stored = await h.api('pia', `/api/documents/${documentId}/package`);
    expect(((await stored.json()) as { package: unknown }).package).toEqual(edited.body.package);
    await waitFor('the third package.essential', () => essentials().length === 3);
    expect(essentials()[2]).toEqual(edited.body.package);
    client.close();
  });

  it('lets editors ask, refuses viewers with 403 and strangers with 404', async () => {
    const { documentId } = await upload(h, 'pia', manuscript(2));
    await share(h, 'pia', documentId, 'eve', 'editor');
    await share(h, 'pia', documentId, 'val', 'viewer');
    expect((await requestPackage(h, 'eve', documentId)).status).toBe(202);
    expect((await requestPackage(h, 'val', documentId)).status).toBe(403);
    expect((await h.api('val', `/api/documents/${documentId}/package`)).status).toBe(200);
    expect((await requestPackage(h, 'zed', documentId)).status).toBe(404);
    expect((await h.api('zed', `/api/documents/${documentId}/package`)).status).toBe(404);
  });
});

/** The builtin provider, held shut until the test opens it, counting summaries. */
function gatedProvider(): AiProvider & { open(): void; summaries: number } {
  const real = createBuiltinProvider();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const provider = {
    name: 'gated',
    open,
    summaries: 0,
    async summarize(text: string, options?: { signal?: AbortSignal }) {
      await gate;
      provider.summaries++;
      return real.summarize(text, options);
    },
    embed: (text: string, options?: { signal?: AbortSignal }) => real.embed(text, options),
  };
  return provider;
}

describe('essential then full', () => {
  let h: TestHerald;
  let ai: ReturnType<typeof gatedProvider>;
  let redis: Redis;

  beforeAll(async () => {
    ai = gatedProvider();
    h = await startTestHerald({ ai });
    redis = createTestRedis();
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
  });

  it('publishes package.essential before package.full, which waits for every chapter and runs once for two quick requests', async () => {
    const { documentId, chapters } = await upload(h, 'pia', manuscript(5, 80));
    const client = await connectClient(h.url, await h.token('pia'));
    expect((await client.subscribe({ document_id: documentId })).ok).toBe(true);

    // Every chapter is still unprocessed (the model is held): the full build must wait, not fail.
    const [first, second] = [await requestPackage(h, 'pia', documentId), await requestPackage(h, 'pia', documentId)];
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(second.body.job_id).toBe(first.body.job_id);
    expect([first.body.deduplicated, second.body.deduplicated]).toEqual([false, true]);
    ai.open();

    const full = await waitFor('package.full', () => client.of(documentId).find((e) => e.name === 'package.full'), 30_000);
    const names = client.of(documentId).map((e) => e.name);
    expect(names.indexOf('package.essential')).toBeLessThan(names.indexOf('package.full'));
    expect(names.filter((n) => n === 'package.essential')).toHaveLength(2);

    const pkg = (full.event as DocumentEvent<'package.full'>).package as Record<string, any>;
    expect(pkg.stage).toBe('full');
    expect(pkg.chapters).toHaveLength(5);
    for (const [i, c] of (pkg.chapters as { id: string; summary: string | null; summary_version: number }[]).entries()) {
      expect(c.id).toBe(chapters[i]!.id);
      expect(c.summary).toBeTruthy();
      expect(c.summary_version).toBe(1);
    }
    expect(pkg.outline.summary).toBeTruthy();
    expect(pkg.character_sheets.map((s: { name: string }) => s.name).sort()).toEqual(['Mara', 'Tomas']);
    expect(pkg.character_sheets[0].summary).toBeTruthy();
    expect(pkg.key_terms.length).toBeGreaterThan(0);

    const stored = (await (await h.api('pia', `/api/documents/${documentId}/package`)).json()) as { package: { stage: string } };
    expect(stored.package.stage).toBe('full');
    const doc = (await (await h.api('pia', `/api/documents/${documentId}`)).json()) as { package: { stage: string } };
    expect(doc.package.stage).toBe('full');

    // One build ran, under the job id both answers named.
    const queue = new Queue('artifacts', { connection: redis, prefix: h.prefix });
    const builds = (await queue.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized'])).filter((j) => j.name === 'package.build');
    expect(builds.map((j) => j.id)).toEqual([first.body.job_id]);
    await queue.close();
    expect(client.of(documentId).filter((e) => e.name === 'package.full')).toHaveLength(1);
    client.close();
  });

  it('keeps a current full package for a request on an unchanged document, and its build announces it again without calling the model', async () => {
    const { documentId, chapters: uploaded } = await upload(h, 'pia', manuscript(2));
    const client = await connectClient(h.url, await h.token('pia'));
    expect((await client.subscribe({ document_id: documentId })).ok).toBe(true);
    const fulls = () => client.of(documentId).filter((e) => e.name === 'package.full').map((e) => (e.event as DocumentEvent<'package.full'>).package as Record<string, any>);
    const first = await requestPackage(h, 'pia', documentId);
    await waitFor('first package.full', () => fulls().length === 1, 30_000);
    const [full] = fulls() as [Record<string, any>];
    const modelCalls = ai.summaries;

    const second = await requestPackage(h, 'pia', documentId);
    expect(second.body.deduplicated).toBe(false);
    expect(second.body.job_id).not.toBe(first.body.job_id);
    // No chapter changed since the full build: the answer is the essential part of the full package (its built_at).
    const { outline: _o, character_sheets: _s, key_terms: _k, ...essential } = full;
    const chapters = (essential.chapters as { summary: unknown; summary_version: unknown }[]).map(({ summary: _x, summary_version: _y, ...c }) => c);
    expect(second.body.package).toEqual({ ...essential, stage: 'essential', chapters });
    const announced = await waitFor('second package.essential', () => client.of(documentId).filter((e) => e.name === 'package.essential')[1]);
    expect((announced.event as DocumentEvent<'package.essential'>).package).toEqual(second.body.package);
    // The full package stays stored, whether its build has run yet or not.
    const stored = () => h.api('pia', `/api/documents/${documentId}/package`).then(async (r) => ((await r.json()) as { package: Record<string, any> }).package);
    expect(await stored()).toEqual(full);

    // The build finds it current: it announces the same package again (built_at included), after the essential one.
    await waitFor('second package.full', () => fulls().length === 2, 30_000);
    expect(fulls()[1]).toEqual(full);
    const names = client.of(documentId).map((e) => e.name);
    expect(names.lastIndexOf('package.essential')).toBeLessThan(names.lastIndexOf('package.full'));
    expect(ai.summaries).toBe(modelCalls);
    expect(await stored()).toEqual(full);
    await waitFor('the second build to be recorded completed', async () => {
      const job = (await (await h.api('pia', `/api/jobs/${second.body.job_id}`)).json()) as { status?: string };
      return job.status === 'completed';
    });

    // A saved chapter makes the next request build afresh, and its full build calls the model again.
    expect((await autosave(h, 'pia', uploaded[0]!.id, { base_version: 1, content: 'Mara and Tomas rewrote the start. Mara again.', op_id: randomUUID() })).status).toBe(200);
    const third = await requestPackage(h, 'pia', documentId);
    expect(third.body.package.built_at).not.toBe(full.built_at);
    await waitFor('a rebuilt package.full', () => fulls().length === 3, 30_000);
    expect(fulls()[2]!.built_at).not.toBe(full.built_at);
    expect(fulls()[2]!.chapters.map((c: { version: number }) => c.version)).toEqual([2, 1]);
    expect(ai.summaries).toBeGreaterThan(modelCalls);
    client.close();
  });

  it('announces an unchanged package again with an outline refreshed since its build, as GET answers it', async () => {
    const { documentId } = await upload(h, 'pia', manuscript(2));
    const client = await connectClient(h.url, await h.token('pia'));
    expect((await client.subscribe({ document_id: documentId })).ok).toBe(true);
    const fulls = () => client.of(documentId).filter((e) => e.name === 'package.full').map((e) => (e.event as DocumentEvent<'package.full'>).package as Record<string, any>);
    await requestPackage(h, 'pia', documentId);
    await waitFor('first package.full', () => fulls().length === 1, 30_000);
    const [full] = fulls() as [Record<string, any>];

    // As a refresh of the outline alone stores it: in its artifact row, the package row left as built.
    const refreshed = { summary: 'The lighthouse, told again.', chapters: [], built_at: new Date().toISOString() };
    await h.db.sql`update artifacts set content = ${h.db.sql.json(refreshed)} where document_id = ${documentId} and kind = 'outline'`;
    await requestPackage(h, 'pia', documentId);
    await waitFor('second package.full', () => fulls().length === 2, 30_000);
    expect(fulls()[1]).toEqual({ ...full, outline: refreshed });
    const stored = await h.api('pia', `/api/documents/${documentId}/package`).then(async (r) => ((await r.json()) as { package: Record<string, any> }).package);
    expect(stored).toEqual(fulls()[1]);
    client.close();
  });
});
