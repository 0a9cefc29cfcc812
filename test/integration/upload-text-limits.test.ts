import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from '../support/herald.ts';

// The refusals (too many chapters, a chapter past MAX_CHAPTER_BYTES) are test/unit/http-validation.test.ts.
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

  it('cuts a 2 MB heading line to a 500-character title', async () => {
    const res = await upload(`# ${'T'.repeat(2_000_000)}\nThe body.`);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { chapters: { title: string }[] };
    expect(body.chapters.map((c) => c.title)).toEqual(['T'.repeat(500)]);
  });

});
