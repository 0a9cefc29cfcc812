import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from '../support/herald.ts';

describe('upload: chapter and title limits', () => {
  let h: TestHerald;
  let token: string;

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api'], env: { MAX_CHAPTER_BYTES: '65536' } });
    token = await h.token('lim');
  });
  afterAll(async () => {
    await h?.close();
  });

  const upload = (content: string) =>
    fetch(`${h.url}/api/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Limits', content }),
    });

  it('refuses 2 million headings with a 400 that names the limit, and stays healthy', async () => {
    const res = await upload('# a\n'.repeat(2_000_000));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: { field: string; message: string }[] } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.details).toEqual([{ field: 'content', message: 'At most 10000 chapters per manuscript; this one has more.' }]);
    expect((await fetch(`${h.url}/health`)).status).toBe(200);
  });

  it('cuts a 2 MB heading line to a 500-character title', async () => {
    const res = await upload(`# ${'T'.repeat(2_000_000)}\nThe body.`);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { chapters: { title: string }[] };
    expect(body.chapters.map((c) => c.title)).toEqual(['T'.repeat(500)]);
  });

  it('refuses a chapter larger than MAX_CHAPTER_BYTES with a 413 naming it, and stores nothing', async () => {
    const before = await h.db.sql`select count(*)::int as n from documents`;
    const res = await upload(`# One\n\nShort.\n\n# Two\n\n${'word '.repeat(20_000)}`);
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: { code: string; details: Record<string, unknown> } };
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.details).toMatchObject({ field: 'content', chapter_index: 1, limit_bytes: 65536, size_bytes: 100_000 });
    expect(await h.db.sql`select count(*)::int as n from documents`).toEqual(before);
  });
});
