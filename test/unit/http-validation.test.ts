/**
 * Request validation the API does before any store, through `app.request()`:
 * multipart files and their encodings, chapter and body-shape limits, and
 * query parameters. The app's stores throw if touched, so each refusal is
 * also proof that nothing was written. The accepted cases (what gets stored)
 * are in test/integration (upload-input, upload-text-limits, large-bodies, paging).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { JSON_MAX_STRUCTURE_CHARS, JSON_MAX_VALUES } from '../../server/json-body.ts';
import { expectError } from '../support/error-envelope.ts';
import { createUnitApp } from '../support/http-app.ts';
import { fileForm, utf16 } from '../support/upload-files.ts';

const TEXT = '# Chapitre 1\n\nÉté à Noël: «déjà vu», naïve façade. 夜 🌙\n\n# Chapitre 2\n\nFin.';

describe('POST /api/documents: multipart files refused before any store', () => {
  const app = createUnitApp();
  afterEach(() => app.untouched());
  const postForm = (form: FormData) => app.as('up', '/api/documents', { method: 'POST', body: form });

  async function expectRefused(response: Response, field: string) {
    const body = await expectError(response, 400, 'invalid_request');
    expect(body.error.details!.map((d) => d.field)).toEqual([field]);
    return body.error;
  }

  it.each([
    ['Latin-1 (ISO 8859-1)', new Uint8Array(Buffer.from(TEXT.replace(/[^\x00-\xff]/gu, ''), 'latin1'))],
    ['UTF-32 LE with a byte order mark', new Uint8Array([0xff, 0xfe, 0x00, 0x00, 0x23, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00])],
    ['UTF-16 LE with an odd number of bytes', utf16(TEXT, 'le').subarray(0, 31)],
    ['binary (a PNG header)', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xd8])],
  ])('refuses a %s file, saying to save it as UTF-8', async (_, bytes) => {
    const error = await expectRefused(await postForm(fileForm(bytes)), 'file');
    expect(error.details![0]!.message).toMatch(/encoding is not supported/);
    expect(error.details![0]!.message).toMatch(/as UTF-8/);
  });

  it('refuses two file parts, naming the field', async () => {
    const form = fileForm(new TextEncoder().encode('# One\n\nFirst file.'), 'one.md');
    form.append('file', new Blob(['# Two\n\nSecond file.'], { type: 'text/markdown' }), 'two.md');
    const error = await expectRefused(await postForm(form), 'file');
    expect(error.details![0]!.message).toMatch(/once/);
  });

  it('refuses a title sent twice', async () => {
    const form = fileForm(new TextEncoder().encode('# One\n\nText.'));
    form.append('title', 'First');
    form.append('title', 'Second');
    await expectRefused(await postForm(form), 'title');
  });
});

describe('POST /api/documents: chapter limits', () => {
  const app = createUnitApp({ env: { MAX_CHAPTER_BYTES: '65536' } });
  afterEach(() => app.untouched());
  const upload = (content: string) => app.as('lim', '/api/documents', { method: 'POST', json: { title: 'Limits', content } });

  it('refuses 2 million headings with a 400 that names the limit', async () => {
    const body = await expectError(await upload('# a\n'.repeat(2_000_000)), 400, 'invalid_request');
    expect(body.error.details).toEqual([{ field: 'content', message: 'At most 10000 chapters per manuscript; this one has more.' }]);
  });

  it('refuses a chapter larger than MAX_CHAPTER_BYTES with a 413 naming it', async () => {
    const body = await expectError(await upload(`# One\n\nShort.\n\n# Two\n\n${'word '.repeat(20_000)}`), 413, 'payload_too_large');
    expect(body.error.details).toMatchObject({ field: 'content', chapter_index: 1, limit_bytes: 65536, size_bytes: 100_000 });
  });
});

describe('JSON bodies whose shape alone would be expensive to parse', () => {
  const app = createUnitApp();
  afterEach(() => app.untouched());
  const post = (body: string, contentType = 'application/json') =>
    app.as('writer', '/api/documents', { method: 'POST', body, headers: { 'content-type': contentType } });

  it.each([
    ['too many values', `{"title":"T","content":"Text.","x":[${'{},'.repeat(JSON_MAX_VALUES)}{}]}`],
    ['too many keys', `{"title":"T","content":"Text.",${Array.from({ length: JSON_MAX_VALUES }, (_, i) => `"k${i}":1`).join(',')}}`],
    ['too much outside its strings', `{"title":"T","content":"Text."${' '.repeat(JSON_MAX_STRUCTURE_CHARS)}}`],
    ['deep nesting', `${'['.repeat(JSON_MAX_VALUES + 1)}${']'.repeat(JSON_MAX_VALUES + 1)}`],
  ])('%s: 400 invalid_request naming the body', async (_, body) => {
    const answer = await expectError(await post(body), 400, 'invalid_request');
    expect(answer.error.details).toEqual([{ field: '(body)', message: expect.stringContaining(`at most ${JSON_MAX_VALUES} values`) }]);
  });

  it('refuses the same shape on a validated route (members), whatever the media type’s case', async () => {
    const body = `{"user_id":"u","role":"viewer","x":[${'0,'.repeat(JSON_MAX_VALUES)}0]}`;
    const response = await app.as('writer', `/api/documents/${randomUUID()}/members`, { method: 'POST', body, headers: { 'content-type': 'Application/JSON' } });
    await expectError(response, 400, 'invalid_request');
  });

  it('still answers invalid_json to malformed JSON', async () => {
    await expectError(await post('{"title": "T", "content": '), 400, 'invalid_json');
  });
});

describe('query parameters have bounds', () => {
  const app = createUnitApp();
  afterEach(() => app.untouched());
  const cursorOf = (text: string) => Buffer.from(text).toString('base64url');

  async function expectNamed(response: Response, field: string) {
    const body = await expectError(response, 400, 'invalid_request');
    expect([...new Set(body.error.details!.map((d) => d.field))]).toEqual([field]);
  }

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=2.5', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1e3', 'limit'],
    ['limit=99999999999999999999', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    [`cursor=${cursorOf(`2026-02-30T00:00:00.000000Z|${randomUUID()}`)}`, 'cursor'],
    [`cursor=${cursorOf(`0000-01-01T00:00:00.000000Z|${randomUUID()}`)}`, 'cursor'],
    [`cursor=${cursorOf('2026-01-01T00:00:00.000000Z|not-a-uuid')}`, 'cursor'],
    [`cursor=${cursorOf(`2026-01-01 00:00:00|${randomUUID()}`)}`, 'cursor'],
    [`cursor=${'A'.repeat(201)}`, 'cursor'],
  ])('GET /api/documents/:id/jobs?%s is a 400 naming %s', async (query, field) => {
    await expectNamed(await app.as('pat', `/api/documents/${randomUUID()}/jobs?${query}`), field);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['offset=-1', 'offset'],
    ['offset=2147483648', 'offset'],
    ['offset=99999999999999999999', 'offset'],
    ['offset=Infinity', 'offset'],
  ])('GET /api/notifications?%s is a 400 naming %s', async (query, field) => {
    await expectNamed(await app.as('nat', `/api/notifications?${query}`), field);
  });
});
