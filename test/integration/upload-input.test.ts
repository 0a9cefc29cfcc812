import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; message: string }[] };
}

const TEXT = '# Chapitre 1\n\nÉté à Noël: «déjà vu», naïve façade. 夜 🌙\n\n# Chapitre 2\n\nFin.';

/** A multipart body and its Content-Type, as a browser's FormData would send them. */
async function encodeForm(form: FormData): Promise<{ body: ArrayBuffer; contentType: string }> {
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  return { body: await request.arrayBuffer(), contentType: request.headers.get('content-type')! };
}

const fileForm = (bytes: Uint8Array, name = 'novel.md') => {
  const form = new FormData();
  form.set('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'text/markdown' }), name);
  return form;
};

const utf16 = (text: string, order: 'le' | 'be') => {
  const le = Buffer.from(`\ufeff${text}`, 'utf16le');
  return new Uint8Array(order === 'le' ? le : le.swap16());
};

describe('POST /api/documents: multipart files and media types', () => {
  let h: TestHerald;

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api'] });
  });
  afterAll(async () => {
    await h?.close();
  });

  const postForm = (form: FormData) => h.api('up', '/api/documents', { method: 'POST', body: form });
  const documentCount = async () => (await h.db.sql<{ n: number }[]>`select count(*)::int as n from documents`)[0]!.n;

  async function storedText(response: Response): Promise<string> {
    expect(response.status, await response.clone().text()).toBe(202);
    const { document } = (await response.json()) as { document: { id: string } };
    const rows = await h.db.sql<{ content: string }[]>`select content from chapters where document_id = ${document.id} order by index`;
    return rows.map((r) => r.content).join('\n');
  }

  async function expectRefused(response: Response, field: string): Promise<ErrorBody['error']> {
    expect(response.status).toBe(400);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.details!.map((d) => d.field)).toEqual([field]);
    return body.error;
  }

  it.each([
    ['UTF-8', new TextEncoder().encode(TEXT)],
    ['UTF-8 with a byte order mark', new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(TEXT)])],
    ['UTF-16 LE with a byte order mark', utf16(TEXT, 'le')],
    ['UTF-16 BE with a byte order mark', utf16(TEXT, 'be')],
  ])('reads a %s file as the same text', async (_, bytes) => {
    const stored = await storedText(await postForm(fileForm(bytes)));
    expect(stored).toContain('Été à Noël: «déjà vu», naïve façade. 夜 🌙');
    expect(stored).not.toContain('\ufeff');
    expect(stored).not.toContain('\ufffd');
  });

  it.each([
    ['Latin-1 (ISO 8859-1)', new Uint8Array(Buffer.from(TEXT.replace(/[^\x00-\xff]/gu, ''), 'latin1'))],
    ['UTF-32 LE with a byte order mark', new Uint8Array([0xff, 0xfe, 0x00, 0x00, 0x23, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00])],
    ['UTF-16 LE with an odd number of bytes', utf16(TEXT, 'le').subarray(0, 31)],
    ['binary (a PNG header)', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xd8])],
  ])('refuses a %s file, saying to save it as UTF-8, and stores nothing', async (_, bytes) => {
    const before = await documentCount();
    const error = await expectRefused(await postForm(fileForm(bytes)), 'file');
    expect(error.details![0]!.message).toMatch(/encoding is not supported/);
    expect(error.details![0]!.message).toMatch(/as UTF-8/);
    expect(await documentCount()).toBe(before);
  });

  it('refuses two file parts, naming the field, and stores nothing', async () => {
    const before = await documentCount();
    const form = fileForm(new TextEncoder().encode('# One\n\nFirst file.'), 'one.md');
    form.append('file', new Blob(['# Two\n\nSecond file.'], { type: 'text/markdown' }), 'two.md');
    const error = await expectRefused(await postForm(form), 'file');
    expect(error.details![0]!.message).toMatch(/once/);
    expect(await documentCount()).toBe(before);
  });

  it('refuses a title sent twice', async () => {
    const form = fileForm(new TextEncoder().encode('# One\n\nText.'));
    form.append('title', 'First');
    form.append('title', 'Second');
    await expectRefused(await postForm(form), 'title');
  });

  it('reads APPLICATION/JSON as JSON', async () => {
    const response = await h.api('up', '/api/documents', {
      method: 'POST',
      headers: { 'content-type': 'APPLICATION/JSON; Charset=UTF-8' },
      body: JSON.stringify({ title: 'Shouted', content: manuscript(2) }),
    });
    expect(response.status).toBe(202);
  });

  it('reads Multipart/Form-Data as a form', async () => {
    const { body, contentType } = await encodeForm(fileForm(new TextEncoder().encode(TEXT)));
    const shouted = contentType.replace('multipart/form-data', 'Multipart/Form-Data');
    expect(shouted).not.toBe(contentType);
    const stored = await storedText(await h.api('up', '/api/documents', { method: 'POST', headers: { 'content-type': shouted }, body }));
    expect(stored).toContain('naïve façade');
  });
});
