/**
 * Large and intricate request bodies: JSON is read in slices and refused
 * when its shape alone would be expensive to parse; a manuscript too large
 * for one statement is stored whole (several statements, one transaction).
 * The refusals are test/unit/http-validation.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDocument } from '../../sql/queries/documents.ts';
import { startTestHerald, type TestHerald } from '../support/herald.ts';

async function counts(h: TestHerald) {
  const [row] = await h.db.sql<{ documents: number; chapters: number }[]>`
    select (select count(*)::int from documents) as documents, (select count(*)::int from chapters) as chapters`;
  return row!;
}

describe('large manuscripts', () => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api'] });
    // Users appear on first sight: this makes the owner row the documents point at.
    expect((await h.api('writer', '/api/documents')).status).toBe(200);
  });
  afterAll(() => h?.close());

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

  const chapters = (n: number, chars: number) =>
    Array.from({ length: n }, (_, index) => ({ id: randomUUID(), index, title: `Chapter ${index}`, content: `${index} ${'w'.repeat(chars)}`, wordCount: 2 }));
  const newDocument = (c: ReturnType<typeof chapters>) => ({ id: randomUUID(), ownerId: 'writer', title: 'T', kind: 'book' as const, wordCount: 2 * c.length, jobId: randomUUID(), chapters: c });

  describe('storing a manuscript larger than one statement carries', () => {
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

    it('throws the first statement\'s failure, not the aborted transaction of the ones sent after it', async () => {
      const c = chapters(3000, 600);
      c[1]!.id = c[0]!.id; // a duplicate key in the first statement; the later ones are already on their way
      const before = await counts(h);
      await expect(insertDocument(h.db.sql, newDocument(c))).rejects.toMatchObject({ code: '23505' });
      expect(await counts(h)).toEqual(before);
    });
  });
});
