import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentEvent } from '../../realtime/events.ts';
import { autosave, share, upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

describe('PATCH /api/chapters/:id (autosave)', () => {
  let h: TestHerald;
  let documentId: string;
  let chapterIds: string[];

  beforeAll(async () => {
    // No worker: autosave needs none, and nothing else moves the chapters meanwhile.
    h = await startTestHerald({ roles: ['api', 'gateway'] });
    const doc = await upload(h, 'olga', manuscript(4));
    documentId = doc.documentId;
    chapterIds = doc.chapters.map((c) => c.id);
    await share(h, 'olga', documentId, 'ed', 'editor');
    await share(h, 'olga', documentId, 'vic', 'viewer');
  });
  afterAll(async () => {
    await h?.close();
  });

  const history = async (chapterId: string) =>
    h.db.sql<{ version: number; content: string; saved_by: string }[]>`
      select version, content, saved_by from chapter_versions where chapter_id = ${chapterId} order by version`;

  it('saves on the current version, bumps it and keeps the text in the history', async () => {
    const id = chapterIds[0]!;
    const res = await autosave(h, 'olga', id, { base_version: 1, content: 'Mara wrote a new opening.', op_id: randomUUID() });
    expect(res.status).toBe(200);
    expect(res.body.chapter).toMatchObject({ id, document_id: documentId, index: 0, version: 2, word_count: 5 });
    expect(await history(id)).toEqual([{ version: 2, content: 'Mara wrote a new opening.', saved_by: 'olga' }]);
    const [row] = await h.db.sql<{ content: string; version: number }[]>`select content, version from chapters where id = ${id}`;
    expect(row).toEqual({ content: 'Mara wrote a new opening.', version: 2 });
  });

  it('answers 409 version_conflict with the current version and text when the base is stale', async () => {
    const id = chapterIds[1]!;
    const first = await autosave(h, 'olga', id, { base_version: 1, content: 'Olga got here first.', op_id: randomUUID() });
    expect(first.status).toBe(200);
    const late = await autosave(h, 'ed', id, { base_version: 1, content: 'Ed edited the old text.', op_id: randomUUID() });
    expect(late.status).toBe(409);
    expect(late.body).toEqual({
      error: { code: 'version_conflict', message: expect.any(String) },
      current: { version: 2, content: 'Olga got here first.' },
    });
    expect((await history(id)).map((v) => v.version)).toEqual([2]);
  });

  it('replays the first answer for a repeated op_id, whatever happened since, without a second version', async () => {
    const id = chapterIds[2]!;
    const opId = randomUUID();
    const save = { base_version: 1, content: 'Saved once.', op_id: opId };
    const first = await autosave(h, 'olga', id, save);
    expect(first.status).toBe(200);
    // Someone else moves the chapter on; the retry of the first save must not conflict or save again.
    expect((await autosave(h, 'ed', id, { base_version: 2, content: 'Ed continued.', op_id: randomUUID() })).status).toBe(200);
    const again = await autosave(h, 'olga', id, save);
    expect(again).toEqual(first);
    expect((await history(id)).map((v) => [v.version, v.saved_by])).toEqual([[2, 'olga'], [3, 'ed']]);

    // A conflict answer is replayed too.
    const conflictOp = { base_version: 1, content: 'Too late.', op_id: randomUUID() };
    const conflict = await autosave(h, 'olga', id, conflictOp);
    expect(conflict.status).toBe(409);
    expect(await autosave(h, 'olga', id, conflictOp)).toEqual(conflict);
  });

  it('answers concurrent duplicates of one op_id with one save and the same answer', async () => {
    const id = chapterIds[3]!;
    const save = { base_version: 1, content: 'Sent twice at once.', op_id: randomUUID() };
    const [a, b] = await Promise.all([autosave(h, 'olga', id, save), autosave(h, 'olga', id, save)]);
    expect(a).toEqual(b);
    expect(a.status).toBe(200);
    expect((await history(id)).map((v) => v.version)).toEqual([2]);
  });

  it('refuses viewers with 403 forbidden and strangers with 404, writing nothing', async () => {
    const id = chapterIds[0]!;
    const viewer = await autosave(h, 'vic', id, { base_version: 2, content: 'Viewer edit.', op_id: randomUUID() });
    expect(viewer.status).toBe(403);
    expect(viewer.body.error.code).toBe('forbidden');
    const stranger = await autosave(h, 'zed', id, { base_version: 2, content: 'Stranger edit.', op_id: randomUUID() });
    expect(stranger.status).toBe(404);
    expect(stranger.body.error.code).toBe('not_found');
    const missing = await autosave(h, 'olga', randomUUID(), { base_version: 1, content: 'x', op_id: randomUUID() });
    expect(missing.status).toBe(404);
    expect((await history(id)).map((v) => v.version)).toEqual([2]);
  });

  it('refuses an op_id reused for another chapter with 422 idempotency_mismatch, and leaves that chapter unchanged', async () => {
    const { chapters } = await upload(h, 'olga', manuscript(2));
    const [a, b] = chapters.map((c) => c.id) as [string, string];
    const opId = randomUUID();
    expect((await autosave(h, 'olga', a, { base_version: 1, content: 'Saved to the first chapter.', op_id: opId })).status).toBe(200);
    const reused = await autosave(h, 'olga', b, { base_version: 1, content: 'Meant for the second chapter.', op_id: opId });
    expect(reused.status).toBe(422);
    expect(reused.body.error).toMatchObject({ code: 'idempotency_mismatch', message: expect.stringContaining(opId) });
    expect(await history(b)).toEqual([]);
    const [row] = await h.db.sql<{ version: number }[]>`select version from chapters where id = ${b}`;
    expect(row!.version).toBe(1);
    // Still refused when the chapter is known to the process and the base is current (the fast path).
    expect((await autosave(h, 'olga', b, { base_version: 1, content: 'A new op first.', op_id: randomUUID() })).status).toBe(200);
    expect((await autosave(h, 'olga', b, { base_version: 2, content: 'Then the old op again.', op_id: opId })).status).toBe(422);
    expect((await history(b)).map((v) => v.version)).toEqual([2]);
  });

  it('refuses an op_id reused for another body of the same chapter, after a 200 and after a 409', async () => {
    const { chapters } = await upload(h, 'olga', manuscript(1));
    const id = chapters[0]!.id;
    const saved = { base_version: 1, content: 'The first body.', op_id: randomUUID() };
    expect((await autosave(h, 'olga', id, saved)).status).toBe(200);
    const otherText = await autosave(h, 'olga', id, { ...saved, content: 'Another body.' });
    expect(otherText.status).toBe(422);
    expect(otherText.body.error.code).toBe('idempotency_mismatch');
    expect((await autosave(h, 'olga', id, { ...saved, base_version: 2 })).status).toBe(422);

    const late = { base_version: 1, content: 'Too late.', op_id: randomUUID() };
    const conflict = await autosave(h, 'olga', id, late);
    expect(conflict.status).toBe(409);
    expect(await autosave(h, 'olga', id, late)).toEqual(conflict);
    expect((await autosave(h, 'olga', id, { ...late, base_version: 2 })).status).toBe(422);
    expect((await history(id)).map((v) => v.content)).toEqual(['The first body.']);
  });

  it('answers concurrent uses of one op_id on two chapters with one save and one 422, never two 200s', async () => {
    const { chapters } = await upload(h, 'olga', manuscript(2));
    const ids = chapters.map((c) => c.id);
    const versions = new Map(ids.map((id) => [id, 1]));
    for (let round = 0; round < 8; round++) {
      const opId = randomUUID();
      const answers = await Promise.all(
        ids.map((id) => autosave(h, 'olga', id, { base_version: versions.get(id)!, content: `Round ${round} in ${id}.`, op_id: opId })),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 422]);
      const winner = answers.find((a) => a.status === 200)!.body.chapter as { id: string; version: number };
      versions.set(winner.id, winner.version);
      const stored = await h.db.sql`select chapter_id from chapter_versions where op_id = ${opId}`;
      expect(stored).toEqual([{ chapter_id: winner.id }]);
    }
  });

  it('answers concurrent uses of one op_id with two bodies of one chapter with one save and one 422', async () => {
    const { chapters } = await upload(h, 'olga', manuscript(1));
    const id = chapters[0]!.id;
    let version = 1;
    for (let round = 0; round < 8; round++) {
      const opId = randomUUID();
      const answers = await Promise.all(
        ['left', 'right'].map((side) => autosave(h, 'olga', id, { base_version: version, content: `Round ${round}, ${side}.`, op_id: opId })),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 422]);
      version = answers.find((a) => a.status === 200)!.body.chapter.version;
    }
    expect(await history(id)).toHaveLength(8);
  });

  it('bounds base_version to a PostgreSQL integer and op_id to 128 id characters (400 naming the field, not 500)', async () => {
    const id = chapterIds[0]!;
    const huge = await autosave(h, 'olga', id, { base_version: 2 ** 31, content: 'x', op_id: randomUUID() });
    expect(huge.status).toBe(400);
    expect(huge.body.error.details.map((d: { field: string }) => d.field)).toEqual(['base_version']);
    const largest = await autosave(h, 'olga', id, { base_version: 2 ** 31 - 1, content: 'x', op_id: randomUUID() });
    expect(largest.status).toBe(409);
    for (const opId of ['a'.repeat(129), 'has space', 'semi;colon', 'é']) {
      const res = await autosave(h, 'olga', id, { base_version: 1, content: 'x', op_id: opId });
      expect(res.status, opId).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toEqual(['op_id']);
    }
    expect((await autosave(h, 'olga', id, { base_version: 1, content: 'x', op_id: `${'a'.repeat(100)}:v-1_2.3` })).status).toBe(409);
  });

  it('validates the body', async () => {
    const id = chapterIds[0]!;
    const res = await autosave(h, 'olga', id, { base_version: 0, content: 'x', op_id: '' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['base_version', 'op_id']);
  });

  it("pushes chapter.updated {chapter_id, version, by} to another user's socket", async () => {
    const watcher = await connectClient(h.url, await h.token('ed'));
    const ack = await watcher.subscribe({ document_id: documentId });
    expect(ack.ok).toBe(true);
    const id = chapterIds[0]!;
    const res = await autosave(h, 'olga', id, { base_version: 2, content: 'Mara rewrote it again.', op_id: randomUUID() });
    expect(res.status).toBe(200);
    const event = await waitFor('chapter.updated on the collaborator socket', () =>
      watcher.of(documentId).find((e) => e.name === 'chapter.updated'),
    );
    expect(event.event as DocumentEvent<'chapter.updated'>).toMatchObject({ document_id: documentId, chapter_id: id, version: 3, by: 'olga' });
    watcher.close();
  });

  it('GET /api/chapters/:id answers the text and version the next save builds on, and the caller\'s access', async () => {
    const doc = await upload(h, 'olga', manuscript(2), { title: 'Read me' });
    await share(h, 'olga', doc.documentId, 'ed', 'editor');
    await share(h, 'olga', doc.documentId, 'vic', 'viewer');
    const id = doc.chapters[1]!.id;
    const read = async (userId: string) => {
      const res = await h.api(userId, `/api/chapters/${id}`);
      return { status: res.status, body: (await res.json()) as { chapter: Record<string, unknown>; access: string } };
    };
    const first = await read('olga');
    expect(first.status).toBe(200);
    expect(first.body.access).toBe('owner');
    expect(first.body.chapter).toMatchObject({ id, document_id: doc.documentId, index: 1, version: 1, status: 'queued', progress: 0, summary: null });
    expect(first.body.chapter.content).toEqual(expect.stringContaining(' '));
    expect(first.body.chapter.updated_at).toEqual(expect.any(String));

    const saved = await autosave(h, 'ed', id, { base_version: 1, content: 'Ed changed the last chapter.', op_id: randomUUID() });
    expect(saved.status).toBe(200);
    const after = await read('vic');
    expect(after.body.access).toBe('viewer');
    expect(after.body.chapter).toMatchObject({ version: 2, content: 'Ed changed the last chapter.', word_count: 5 });
    expect((await read('ed')).body.access).toBe('editor');
  });

  it('GET /api/chapters/:id is a 404 for a stranger, a missing chapter and a malformed id', async () => {
    for (const [userId, path, status, code] of [
      ['mallory', `/api/chapters/${chapterIds[0]}`, 404, 'not_found'],
      ['olga', `/api/chapters/${randomUUID()}`, 404, 'not_found'],
      ['olga', '/api/chapters/not-a-uuid', 404, 'not_found'],
    ] as const) {
      const res = await h.api(userId, path);
      expect(res.status, path).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
  });

  it('lists autosave and packages in the OpenAPI reference', async () => {
    const doc = (await (await fetch(`${h.url}/docs`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/api/chapters/{id}'] ?? {}).sort()).toEqual(['get', 'patch']);
    expect(Object.keys(doc.paths['/api/documents/{id}/package'] ?? {}).sort()).toEqual(['get', 'post']);
  });

  it('keeps the document word count in step with saves', async () => {
    const [row] = await h.db.sql<{ stored: number; actual: number }[]>`
      select d.word_count as stored, (select sum(word_count)::int from chapters c where c.document_id = d.id) as actual
      from documents d where d.id = ${documentId}`;
    expect(row!.stored).toBe(row!.actual);
  });
});
