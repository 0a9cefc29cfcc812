import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { waitFor } from '../support/wait.ts';

interface JobsPage {
  jobs: { id: string; created_at: string; document_id: string }[];
  next_cursor: string | null;
}

const cursorOf = (text: string) => Buffer.from(text).toString('base64url');

// Refused limits, offsets and cursors are test/unit/http-validation.test.ts.
describe('GET /api/documents/:id/jobs pages with a cursor', () => {
  let h: TestHerald;
  let documentId: string;

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api'] });
    documentId = (await upload(h, 'pat', manuscript(2))).documentId;
    await waitFor('the upload’s ingest job to be recorded', async () => (await h.db.sql`select 1 from jobs where document_id = ${documentId}`).length > 0);
    // 600 older jobs, more than one old-style page of 500. In each group of three, two share created_at to the
    // microsecond (the id breaks the tie) and the third is one microsecond later: the same millisecond for JavaScript.
    await h.db.sql`
      insert into jobs (id, queue, bull_id, type, status, priority, document_id, created_at, changed_at)
      select gen_random_uuid(), 'chapters', 'paging-' || i, 'chapter.process', 'completed', 'normal', ${documentId},
             timestamptz '2026-01-01 00:00:00Z' + (i / 3) * interval '1 millisecond' + (i % 3 = 2)::int * interval '1 microsecond', now()
      from generate_series(1, 600) as i`;
  });
  afterAll(async () => {
    await h?.close();
  });

  const getPage = async (query: string, user = 'pat') => {
    const res = await h.api(user, `/api/documents/${documentId}/jobs${query}`);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as JobsPage;
  };
  const allIds = async () =>
    (await h.db.sql<{ id: string }[]>`select id from jobs where document_id = ${documentId} order by created_at desc, id desc`).map((r) => r.id);

  it('answers 100 jobs by default with a cursor, and walks every job exactly once, newest first', async () => {
    const expected = await allIds();
    const first = await getPage('');
    expect(first.jobs).toHaveLength(100);
    expect(first.next_cursor).toEqual(expect.any(String));
    const seen = [...first.jobs];
    let cursor = first.next_cursor;
    while (cursor) {
      // Small pages, so many of them end between two jobs a microsecond apart.
      const page = await getPage(`?limit=25&cursor=${encodeURIComponent(cursor)}`);
      expect(page.jobs.length).toBeLessThanOrEqual(25);
      seen.push(...page.jobs);
      cursor = page.next_cursor;
    }
    expect(seen.map((j) => j.id)).toEqual(expected);
    const times = seen.map((j) => Date.parse(j.created_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('ends with next_cursor null on the page that holds the last job, not with an empty page after it', async () => {
    const total = (await allIds()).length;
    const first = await getPage('?limit=500');
    expect(first.jobs).toHaveLength(500);
    const last = await getPage(`?limit=500&cursor=${encodeURIComponent(first.next_cursor!)}`);
    expect(last.jobs).toHaveLength(total - 500);
    expect(last.next_cursor).toBeNull();
  });

  it('is not shifted by jobs created while a client pages', async () => {
    const before = await allIds();
    const first = await getPage('?limit=200');
    // New jobs arrive (newer than every listed one): offset paging would repeat 50 jobs on the next page.
    await h.db.sql`
      insert into jobs (id, queue, bull_id, type, status, priority, document_id, created_at, changed_at)
      select gen_random_uuid(), 'chapters', 'late-' || i, 'chapter.process', 'queued', 'normal', ${documentId}, now(), now()
      from generate_series(1, 50) as i`;
    const seen = [...first.jobs];
    let cursor = first.next_cursor;
    while (cursor) {
      const page = await getPage(`?limit=200&cursor=${encodeURIComponent(cursor)}`);
      seen.push(...page.jobs);
      cursor = page.next_cursor;
    }
    expect(seen.map((j) => j.id)).toEqual(before);
    // A fresh walk starts with the new ones.
    expect((await getPage('?limit=50')).jobs.every((j) => !before.includes(j.id))).toBe(true);
  });

  it('takes a well-formed cursor from before any job as the end of the list', async () => {
    const page = await getPage(`?cursor=${cursorOf(`1970-01-01T00:00:00.000000Z|${randomUUID()}`)}`);
    expect(page).toEqual({ jobs: [], next_cursor: null });
  });

  it('still answers 404 to a user who cannot see the document, cursor or not', async () => {
    const first = await getPage('?limit=1');
    expect((await h.api('stranger', `/api/documents/${documentId}/jobs?cursor=${first.next_cursor}`)).status).toBe(404);
  });

  it('answers the largest offset with an empty page', async () => {
    const res = await h.api('pat', '/api/notifications?limit=200&offset=2147483647');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ notifications: [], next_offset: null });
  });
});
