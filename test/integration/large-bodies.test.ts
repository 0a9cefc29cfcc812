/**
 * Large and intricate request bodies: JSON is read in slices and refused
 * when its shape alone would be expensive to parse; a manuscript too large
 * for one statement is stored whole (several statements, one transaction).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDocument } from '../../sql/queries/documents.ts';
import { JSON_MAX_STRUCTURE_CHARS, JSON_MAX_VALUES } from '../../server/json-body.ts';
import { startTestHerald, type TestHerald } from '../support/herald.ts';

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; message: string }[] };
}

async function counts(h: TestHerald) {
  const [row] = await h.db.sql<{ documents: number; chapters: number }[]>`
    select (select count(*)::int from documents) as documents, (select count(*)::int from chapters) as chapters`;
  return row!;
}

describe('JSON bodies', () => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api'] });
  });
  afterAll(() => h?.close());

  const post = (body: string, contentType = 'application/json') =>
    h.api('writer', '/api/documents', { method: 'POST', body, headers: { 'content-type': contentType } });

  it.each([
    ['too many values', `{"title":"T","content":"Text.","x":[${'{},'.repeat(JSON_MAX_VALUES)}{}]}`],
    ['too many keys', `{"title":"T","content":"Text.",${Array.from({ length: JSON_MAX_VALUES }, (_, i) => `"k${i}":1`).join(',')}}`],
    ['too much outside its strings', `{"title":"T","content":"Text."${' '.repeat(JSON_MAX_STRUCTURE_CHARS)}}`],
    ['deep nesting', `${'['.repeat(JSON_MAX_VALUES + 1)}${']'.repeat(JSON_MAX_VALUES + 1)}`],
  ])('%s: 400 invalid_request naming the body, nothing written', async (_, body) => {
    const before = await counts(h);
    const response = await post(body);
    expect(response.status).toBe(400);
    const answer = (await response.json()) as ErrorBody;
    expect(answer.error.code).toBe('invalid_request');
    expect(answer.error.details).toEqual([{ field: '(body)', message: expect.stringContaining(`at most ${JSON_MAX_VALUES} values`) }]);
    expect(await counts(h)).toEqual(before);
  });

  it('refuses the same shape on a validated route (members), whatever the media type’s case', async () => {
    const body = `{"user_id":"u","role":"viewer","x":[${'0,'.repeat(JSON_MAX_VALUES)}0]}`;
    const response = await h.api('writer', `/api/documents/${randomUUID()}/members`, { method: 'POST', body, headers: { 'content-type': 'Application/JSON' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.code).toBe('invalid_request');
  });

  it('takes a large manuscript whose bulk is one string, escapes and non-ASCII text included', async () => {
    const chapter = (i: number) => `# Chapter ${i}\n\n${'Жена said "hello"\\ to Mara.\t'.repeat(400)}`;
    const content = Array.from({ length: 300 }, (_, i) => chapter(i)).join('\n\n');
    const response = await h.api('writer', '/api/documents', { method: 'POST', json: { title: 'Big', content } });
    expect(response.status).toBe(202);
    const { document, chapters } = (await response.json()) as { document: { id: string }; chapters: { id: string }[] };
    expect(chapters).toHaveLength(300);
    const [stored] = await h.db.sql<{ content: string }[]>`select content from chapters where document_id = ${document.id} and index = 299`;
    expect(stored!.content).toBe(chapter(299).slice('# Chapter 299\n\n'.length));
  });

  it('still answers invalid_json to malformed JSON', async () => {
    const response = await post('{"title": "T", "content": ');
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.code).toBe('invalid_json');
  });
});

describe('storing a manuscript larger than one statement carries', () => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api'] });
    // Users appear on first sight: this makes the owner row the documents point at.
    expect((await h.api('writer', '/api/documents')).status).toBe(200);
  });
  afterAll(() => h?.close());

  const chapters = (n: number, chars: number) =>
    Array.from({ length: n }, (_, index) => ({ id: randomUUID(), index, title: `Chapter ${index}`, content: `${index} ${'w'.repeat(chars)}`, wordCount: 2 }));
  const newDocument = (c: ReturnType<typeof chapters>) => ({ id: randomUUID(), ownerId: 'writer', title: 'T', kind: 'book' as const, wordCount: 2 * c.length, jobId: randomUUID(), chapters: c });

  it('stores every chapter, in order, with its text (5,000 chapters, 3 MiB)', async () => {
    const doc = newDocument(chapters(5000, 600));
    await insertDocument(h.db.sql, doc);
    const rows = await h.db.sql<{ index: number; content: string }[]>`select index, content from chapters where document_id = ${doc.id} order by index`;
    expect(rows.map((r) => r.index)).toEqual(doc.chapters.map((c) => c.index));
    expect(rows.every((r, i) => r.content === doc.chapters[i]!.content)).toBe(true);
  });

  it('writes nothing when a later statement fails', async () => {
    const c = chapters(3000, 600);
    c[2999]!.id = c[0]!.id; // a duplicate key in the last statement
    const before = await counts(h);
    await expect(insertDocument(h.db.sql, newDocument(c))).rejects.toMatchObject({ code: '23505' });
    expect(await counts(h)).toEqual(before);
  });
});
