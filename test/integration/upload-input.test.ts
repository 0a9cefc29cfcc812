import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { fileForm, utf16 } from '../support/upload-files.ts';

const TEXT = '# Chapitre 1\n\nÉté à Noël: «déjà vu», naïve façade. 夜 🌙\n\n# Chapitre 2\n\nFin.';

/** A multipart body and its Content-Type, as a browser's FormData would send them. */
async function encodeForm(form: FormData): Promise<{ body: ArrayBuffer; contentType: string }> {
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  return { body: await request.arrayBuffer(), contentType: request.headers.get('content-type')! };
}

describe('POST /api/documents: multipart files and media types', () => {
  let h: TestHerald;

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api'] });
  });
  afterAll(async () => {
    await h?.close();
  });

  const postForm = (form: FormData) => h.api('up', '/api/documents', { method: 'POST', body: form });

  async function storedText(response: Response): Promise<string> {
    expect(response.status, await response.clone().text()).toBe(202);
    const { document } = (await response.json()) as { document: { id: string } };
    const rows = await h.db.sql<{ content: string }[]>`select content from chapters where document_id = ${document.id} order by index`;
    return rows.map((r) => r.content).join('\n');
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
